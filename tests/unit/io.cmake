# SPDX-License-Identifier: Apache-2.0
wtcachefs_add_test(uring_backend_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/uring_backend_test.cc LABELS unit)
wtcachefs_add_test(inode_table_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/inode_table_test.cc LABELS unit)
wtcachefs_add_test(view_inode_numbering_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/view_inode_numbering_test.cc LABELS unit)
wtcachefs_add_test(transport_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/transport_test.cc LABELS unit)
target_link_libraries(transport_test PRIVATE PkgConfig::FUSE3)
