# SPDX-License-Identifier: Apache-2.0
wtcachefs_add_test(policy_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/policy_test.cc LABELS unit)
target_link_libraries(policy_test PRIVATE wtcachefs_sim)
wtcachefs_add_test(miss_ratio_curve_test SOURCES ${CMAKE_CURRENT_LIST_DIR}/miss_ratio_curve_test.cc LABELS unit)
target_link_libraries(miss_ratio_curve_test PRIVATE wtcachefs_sim)
