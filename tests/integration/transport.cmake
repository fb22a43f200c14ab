# SPDX-License-Identifier: Apache-2.0
wtcachefs_add_test(transport_mount_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/transport_mount_test.cc LABELS integration TIMEOUT 600 RUN_SERIAL)
