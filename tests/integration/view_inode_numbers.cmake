# SPDX-License-Identifier: Apache-2.0
# Inode numbers through the view when ORIGIN spans several file systems (btrfs
# subvolumes on a loop device, a tmpfs mounted inside ORIGIN).
wtcachefs_add_test(view_inode_numbers_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/view_inode_numbers_test.cc LABELS integration)
