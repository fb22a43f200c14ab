# SPDX-License-Identifier: Apache-2.0
wtcachefs_add_test(size_options_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/size_options_test.cc LABELS unit)
