#!/bin/sh
# Memory bombs, one kind per argument (test image only):
#   string   awk doubling one string (one big heap block)
#   array    awk growing an array of small strings (many small allocations)
#   shell    the shell itself doubling a variable
#   procs    several processes allocating at once (the limit is per container)
#   tmpfs    filling /dev/shm and /tmp (page cache, not heap)
cat > /dev/null
case "$1" in
  string) awk 'BEGIN { s = "xxxxxxxxxxxxxxxx"; while (1) s = s s }' ;;
  array)  awk 'BEGIN { while (1) a[i++] = sprintf("%0200d", i) }' ;;
  shell)  x=xxxxxxxxxxxxxxxx; while :; do x="$x$x"; done ;;
  procs)  for n in 1 2 3 4; do awk 'BEGIN { s = "xxxxxxxxxxxxxxxx"; while (length(s) < 12000000) s = s s; while (1) {} }' & done; wait ;;
  *) echo "unknown bomb $1" >&2; exit 2 ;;
esac
echo "survived" >&2
exit 1
