/**
 * @module Asks for the server's token (`weft --token`) once; the app keeps it for the tab's
 * session and retries what failed. The page shell is open, the data is not.
 */
import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';

export function TokenPrompt(props: { wrong: boolean; onSubmit: (token: string) => void }): JSX.Element {
  const [value, setValue] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => input.current?.focus(), []);
  return (
    <div class="modal-back" role="dialog" aria-modal="true" aria-labelledby="token-title">
      <form
        class="modal"
        data-testid="token-prompt"
        onSubmit={(e) => {
          e.preventDefault();
          if (value.trim() !== '') props.onSubmit(value.trim());
        }}
      >
        <h2 id="token-title">This Weft needs a token</h2>
        <p>
          The server was started with <code>--token</code>. Enter it to see traces; it is kept for this tab only (sessionStorage) and sent as a Bearer header.
        </p>
        {props.wrong ? (
          <p class="error" data-testid="token-wrong">
            That token was not accepted.
          </p>
        ) : null}
        <input ref={input} type="password" autocomplete="off" value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} placeholder="token" aria-label="token" data-testid="token-input" />
        <div class="actions">
          <button type="submit" class="primary" data-testid="token-submit">
            Use token
          </button>
        </div>
      </form>
    </div>
  );
}
