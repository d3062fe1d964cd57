# wt_unit_test(module lib...): builds <module>_test.c as test_<module> and
# registers it with ctest (label unit, 60 s).
function(wt_unit_test module)
  add_executable(test_${module} ${module}_test.c)
  target_link_libraries(test_${module} PRIVATE ${ARGN})
  add_test(NAME ${module} COMMAND test_${module})
  set_tests_properties(${module} PROPERTIES LABELS unit TIMEOUT 60)
endfunction()

# wt_py_test(name script timeout label): an integration test written in
# Python (Debian's /usr/bin/python3 with python3-redis/zmq/msgpack).
function(wt_py_test name script timeout label)
  add_test(NAME ${name}
           COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/${script}
           WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
  set_tests_properties(${name} PROPERTIES LABELS ${label} TIMEOUT ${timeout}
    ENVIRONMENT "WORKTRAIN_BIN=${CMAKE_BINARY_DIR}/worktrain;WT_BUILD_DIR=${CMAKE_BINARY_DIR};PYTHONDONTWRITEBYTECODE=1")
endfunction()
