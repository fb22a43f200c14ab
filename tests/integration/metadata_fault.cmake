# SPDX-License-Identifier: Apache-2.0
wtcachefs_add_test(metadata_fault_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/metadata_fault_test.cc LABELS integration)
