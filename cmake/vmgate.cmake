# Helpers shared by every folder.

find_package(PkgConfig REQUIRED)
pkg_check_modules(CMOCKA REQUIRED IMPORTED_TARGET cmocka)

# vmgate_unit_test(NAME SOURCES... LIBS ...): a cmocka test run by ctest.
function(vmgate_unit_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE PkgConfig::CMOCKA ${T_LIBS})
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS unit)
endfunction()

# vmgate_fuzz_target(NAME SOURCE CORPUS_DIR [RUNS N] LIBS ...):
# with VMGATE_FUZZ (clang) a libFuzzer binary that ctest runs for exactly
# VMGATE_FUZZ_RUNS inputs (default one million, issue 8), however long that
# takes: a run that cannot finish them in the test's timeout fails rather
# than stopping short and passing;
# otherwise the same entry point linked to a driver that replays the corpus,
# so every build at least runs the corpus through the parser.
set(VMGATE_FUZZ_RUNS 1000000 CACHE STRING
    "inputs each libFuzzer target runs under ctest (VMGATE_FUZZ=ON)")

function(vmgate_fuzz_target name source corpus)
  cmake_parse_arguments(F "" "RUNS" "LIBS" ${ARGN})
  if(NOT F_RUNS)
    set(F_RUNS ${VMGATE_FUZZ_RUNS})
  endif()
  if(VMGATE_FUZZ)
    add_executable(${name} ${source})
    target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    target_link_libraries(${name} PRIVATE ${F_LIBS})
    add_test(NAME ${name}
             COMMAND ${name} -runs=${F_RUNS} -timeout=5
                     -rss_limit_mb=1024 -print_final_stats=1
                     ${CMAKE_CURRENT_BINARY_DIR}/${name}-corpus ${corpus})
    set_tests_properties(${name} PROPERTIES TIMEOUT 600)
    file(MAKE_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/${name}-corpus)
  else()
    add_executable(${name} ${source} ${PROJECT_SOURCE_DIR}/tests/fuzz/replay_main.c)
    target_link_libraries(${name} PRIVATE ${F_LIBS})
    add_test(NAME ${name} COMMAND ${name} ${corpus})
  endif()
  set_tests_properties(${name} PROPERTIES LABELS fuzz)
endfunction()
