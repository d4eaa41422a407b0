#!/bin/sh
# The classic fork bomb, `:(){ :|:& };:`, as an ash function (test image only).
cat > /dev/null
bomb() { bomb | bomb & }
bomb
wait
sleep 600
