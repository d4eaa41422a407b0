#!/bin/sh
# Fork bombs (test image only):
#   classic    `:(){ :|:& };:` as an ash function. ash exits when a fork
#              fails, so under a pids limit this one often dies out by itself.
#   sustained  every process is an awk that loops forever spawning more of
#              itself and survives its failed forks, so the process count
#              sits at whatever limit holds it until the container is killed.
case "$1" in
  classic)
    cat > /dev/null
    bomb() { bomb | bomb & }
    bomb
    wait
    sleep 600
    ;;
  worker)
    exec awk 'BEGIN { while (1) system("/opt/toolcage/bin/forkbomb.sh worker &") }'
    ;;
  *)
    cat > /dev/null
    exec awk 'BEGIN { while (1) system("/opt/toolcage/bin/forkbomb.sh worker &") }'
    ;;
esac
