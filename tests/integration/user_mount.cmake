# SPDX-License-Identifier: Apache-2.0
# Unprivileged use: a user mount through fusermount3, and -o allow_other with and
# without user_allow_other in /etc/fuse.conf (each in a private mount namespace).
wtcachefs_add_test(user_mount_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/user_mount_test.cc ${CMAKE_CURRENT_LIST_DIR}/cli_fixtures.cc LABELS integration)
