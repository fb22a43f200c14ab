# SPDX-License-Identifier: Apache-2.0
wtcachefs_add_test(cache_engine_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/cache_engine_test.cc LABELS unit)
wtcachefs_add_test(cache_directory_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/cache_directory_test.cc LABELS unit)
wtcachefs_add_test(engine_persistence_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/engine_persistence_test.cc LABELS unit TIMEOUT 600)
wtcachefs_add_test(stats_history_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/stats_history_test.cc LABELS unit)
wtcachefs_add_test(engine_stress_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/engine_stress_test.cc LABELS unit TIMEOUT 600)
wtcachefs_add_test(engine_power_loss_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/engine_power_loss_test.cc LABELS unit TIMEOUT 600)
wtcachefs_add_test(status_report_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/status_report_test.cc LABELS unit)
wtcachefs_add_test(engine_checksum_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/engine_checksum_test.cc LABELS unit)
