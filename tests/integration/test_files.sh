#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
# What greywalld leaves on disk, started from a shell whose umask (022)
# would make everything world-readable: its own umask is 0027, the store
# and the table files are not world-readable, the dumps are (0644 in a
# 0755 directory), and a symlink planted where a table file is written
# is replaced, not written through.
cd "$(dirname "$0")/../.." || exit 1
GW_ID=gwfiles$$
. tests/lib/gw.sh

gw_setup_net || { echo "not ok 1 - network setup"; exit 1; }
umask 022
# Owned by someone else and group-readable: what greywalld must not copy.
printf '#!/bin/sh\n' >"$GW_RUN/victim"
chmod 04755 "$GW_RUN/victim"
ln -s "$GW_RUN/victim" "$GW_RUN/planted"
printf '198.51.100.7\n' >"$GW_RUN/world"
chmod 0666 "$GW_RUN/world"
gw_write_config '
table <planted> persist file "'"$GW_RUN"'/planted"
table <world> persist file "'"$GW_RUN"'/world"
block drop quick from <planted>
block drop quick from <world>'
gw_start
ok $? "greywalld starts from a shell with umask 022"

mode() { stat -c %a "$1" 2>/dev/null; }
check_output "greywalld's umask is 0027" "0027" \
	awk '/^Umask:/ { print $2 }' "/proc/$GW_PID/status"
check_output "the store is 0640" "640" mode "$GW_RUN/state/greywall.db"
check_output "its -wal file is 0640" "640" mode "$GW_RUN/state/greywall.db-wal"
check_output "its -shm file is 0640" "640" mode "$GW_RUN/state/greywall.db-shm"

check_output "add to the table behind the planted symlink" "1/1 addresses added." \
	ctl table planted add 203.0.113.9
check_output "add to the table in a file of mode 0666" "1/1 addresses added." \
	ctl table world add 198.51.100.8
check_output "dump writes the lists and the table files" \
	"2 tables dumped to $GW_RUN/pub." ctl dump
check_output "the dump directory is 0755" "755" mode "$GW_RUN/pub"
check_output "the dumps are 0644" "644" mode "$GW_RUN/pub/planted.txt"
check "the planted symlink was replaced by a file" test -f "$GW_RUN/planted" -a ! -L "$GW_RUN/planted"
check_output "the table file is 0640, not the link target's 04755" "640" mode "$GW_RUN/planted"
check_output "the table file has the entry" "203.0.113.9" cat "$GW_RUN/planted"
check_output "the link target's mode is untouched" "4755" mode "$GW_RUN/victim"
check_output "the link target's content is untouched" "#!/bin/sh" cat "$GW_RUN/victim"
check_output "a table file of mode 0666 keeps only 0660" "660" mode "$GW_RUN/world"
tap_done
