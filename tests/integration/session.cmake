# SPDX-License-Identifier: Apache-2.0
wtcachefs_add_test(session_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/session_test.cc LABELS integration)
