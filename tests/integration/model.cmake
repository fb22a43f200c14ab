# SPDX-License-Identifier: Apache-2.0
wtcachefs_add_test(model_random_test
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/model_random_test.cc
          ${CMAKE_CURRENT_LIST_DIR}/model_ops.cc
          ${CMAKE_CURRENT_LIST_DIR}/model_generator.cc
          ${CMAKE_CURRENT_LIST_DIR}/model_compare.cc
  LABELS integration TIMEOUT 600)
