# SPDX-License-Identifier: Apache-2.0
wtcachefs_add_test(smoke_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/smoke_test.cc LABELS integration)
