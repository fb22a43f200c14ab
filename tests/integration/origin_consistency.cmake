# SPDX-License-Identifier: Apache-2.0
# W2 and W6 where another program changes the origin too (integration/origin_rig.h):
# over ext4, over the benchmark's slow-origin fixture (an origin that caches
# attributes, with fine or whole-second timestamps) and over sshfs.
function(wtcachefs_add_origin_test name)
  wtcachefs_add_test(${name} SOURCES ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/${name}.cc
    ${CMAKE_CURRENT_FUNCTION_LIST_DIR}/origin_rig.cc LABELS integration TIMEOUT 900)
  target_compile_definitions(${name} PRIVATE SLOW_ORIGIN_FS_BINARY="$<TARGET_FILE:slow_origin_fs>")
  add_dependencies(${name} slow_origin_fs)
endfunction()

wtcachefs_add_origin_test(origin_consistency_test)
target_link_libraries(origin_consistency_test PRIVATE PkgConfig::URING)
wtcachefs_add_origin_test(coarse_timestamps_test)
wtcachefs_add_origin_test(network_origin_test)
