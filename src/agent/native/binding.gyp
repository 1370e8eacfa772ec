# The N-API addon. scripts/build-native.mjs runs npm's bundled node-gyp on this file after it has
# generated <root>/build/weft.skel.h; WEFT_BUILD_DIR points at that folder.
{
  "variables": {
    "weft_build_dir%": "<!(node -p \"process.env.WEFT_BUILD_DIR || '../../../build'\")"
  },
  "targets": [
    {
      "target_name": "weft_native",
      "sources": ["weft_native.c"],
      "include_dirs": ["../bpf", "<(weft_build_dir)"],
      "cflags": ["-O2", "-Wall", "-Wno-unused-parameter"],
      "libraries": ["<!@(pkg-config --libs libbpf libelf zlib)"]
    }
  ]
}
