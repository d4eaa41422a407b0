#!/bin/sh
# Echoes its JSON input back (test image only).
exec cat
