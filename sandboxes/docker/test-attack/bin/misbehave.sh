#!/bin/sh
# Protocol breakers (test image only):
#   notjson   prints text that is not JSON
#   crash     writes a lot to stderr, then exits 3
#   badutf8   prints JSON holding an invalid UTF-8 byte
#   empty     prints nothing
cat > /dev/null
case "$1" in
  notjson) echo 'hello, not json' ;;
  crash) i=0; while [ $i -lt 2000 ]; do echo "error line $i: something broke; token=supersecret" >&2; i=$((i+1)); done; exit 3 ;;
  badutf8) printf '{"s":"\377"}\n' ;;
  empty) ;;
esac
