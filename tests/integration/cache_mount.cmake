wtcachefs_add_test(cache_mount_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/cache_mount_test.cc LABELS integration)
wtcachefs_add_test(status_command_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/status_command_test.cc LABELS integration)
wtcachefs_add_test(kill_recovery_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/kill_recovery_test.cc LABELS integration TIMEOUT 900)
wtcachefs_add_test(writethrough_ack_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/writethrough_ack_test.cc LABELS integration)
