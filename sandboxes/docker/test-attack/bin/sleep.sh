#!/bin/sh
# Reads its input, then sleeps far past any test timeout (test image only).
cat > /dev/null
exec sleep 600
