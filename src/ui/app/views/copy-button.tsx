/** @module A button that copies a value (trace or span id) and says so. */
import { useState } from 'preact/hooks';
import type { JSX } from 'preact';

/** The Clipboard API needs a secure context (https or localhost); elsewhere a hidden textarea does it. */
async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through
  }
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.className = 'offscreen';
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

export function CopyButton(props: { value: string; label: string }): JSX.Element {
  const [state, setState] = useState<'idle' | 'done' | 'failed'>('idle');
  const onClick = (): void => {
    void copyText(props.value).then((ok) => {
      setState(ok ? 'done' : 'failed');
      window.setTimeout(() => setState('idle'), 1500);
    });
  };
  return (
    <button type="button" class="copy" title={`copy ${props.label}`} onClick={onClick} data-copy={props.label}>
      {state === 'done' ? 'copied' : state === 'failed' ? 'copy failed' : `copy ${props.label}`}
    </button>
  );
}
