# SPDX-License-Identifier: Apache-2.0
wtcachefs_add_test(meta_records_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/meta_records_test.cc LABELS unit)
wtcachefs_add_test(meta_store_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/meta_store_test.cc LABELS unit)
wtcachefs_add_test(block_index_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/block_index_test.cc LABELS unit)
