wtcachefs_add_test(mirror_posix_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/mirror_posix_test.cc LABELS integration)
wtcachefs_add_test(mirror_scale_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/mirror_scale_test.cc LABELS integration TIMEOUT 600)
