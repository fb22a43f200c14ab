wtcachefs_add_test(cache_engine_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/cache_engine_test.cc LABELS unit)
wtcachefs_add_test(cache_directory_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/cache_directory_test.cc LABELS unit)
wtcachefs_add_test(engine_persistence_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/engine_persistence_test.cc LABELS unit TIMEOUT 600)
wtcachefs_add_test(stats_history_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/stats_history_test.cc LABELS unit)
