#!/bin/sh
# Floods stdout without end (test image only).
cat > /dev/null
exec yes '{"flood":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}'
