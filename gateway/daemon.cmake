# vmgated, the gateway daemon. Included from gateway/CMakeLists.txt after
# the gateway_conf library is defined; paths are relative to this file so
# it may be included from anywhere.

pkg_check_modules(LIBEVENT REQUIRED IMPORTED_TARGET libevent_core)
pkg_check_modules(LIBEVENT_SSL REQUIRED IMPORTED_TARGET libevent_openssl)
pkg_check_modules(GATEWAY_SSL REQUIRED IMPORTED_TARGET libssl)
set(VMGATED_DIR ${CMAKE_CURRENT_LIST_DIR})

# Everything but main(), so unit tests and fuzz targets link the same code.
add_library(gateway_daemon STATIC
    ${VMGATED_DIR}/audit.c ${VMGATED_DIR}/command.c ${VMGATED_DIR}/demo.c
    ${VMGATED_DIR}/hub.c ${VMGATED_DIR}/json.c ${VMGATED_DIR}/log.c
    ${VMGATED_DIR}/outq.c ${VMGATED_DIR}/penalty.c ${VMGATED_DIR}/pwcheck.c
    ${VMGATED_DIR}/record.c
    ${VMGATED_DIR}/session.c ${VMGATED_DIR}/session_cmd.c
    ${VMGATED_DIR}/session_console.c ${VMGATED_DIR}/session_tunnel.c
    ${VMGATED_DIR}/sshd.c ${VMGATED_DIR}/sshd_auth.c
    ${VMGATED_DIR}/sshd_hostkey.c ${VMGATED_DIR}/startups.c
    ${VMGATED_DIR}/supervisor.c ${VMGATED_DIR}/supervisor_chan.c
    ${VMGATED_DIR}/supervisor_display.c ${VMGATED_DIR}/supervisor_power.c
    ${VMGATED_DIR}/ticket.c ${VMGATED_DIR}/vncd.c ${VMGATED_DIR}/worker.c)
target_include_directories(gateway_daemon PUBLIC ${VMGATED_DIR})
target_link_libraries(gateway_daemon PUBLIC
    gateway_conf vmgate_ctl vmgate_logesc vmgate_certs vmgate_rfbfront
    PkgConfig::LIBEVENT PkgConfig::LIBEVENT_SSL PkgConfig::GATEWAY_SSL
    Threads::Threads)

add_executable(vmgated ${VMGATED_DIR}/vmgated.c)
target_link_libraries(vmgated PRIVATE gateway_daemon)
# vmgated finds vmgate-vmm at <its folder>/../vmm-core/vmgate-vmm.
set_target_properties(vmgated PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/gateway)

# ---- unit tests ----
vmgate_unit_test(test_gateway_outq
    SOURCES ${VMGATED_DIR}/daemon-tests/test_outq.c LIBS gateway_daemon)
vmgate_unit_test(test_gateway_ticket
    SOURCES ${VMGATED_DIR}/daemon-tests/test_ticket.c LIBS gateway_daemon)
vmgate_unit_test(test_gateway_penalty
    SOURCES ${VMGATED_DIR}/daemon-tests/test_penalty.c LIBS gateway_daemon)
vmgate_unit_test(test_gateway_hub
    SOURCES ${VMGATED_DIR}/daemon-tests/test_hub.c LIBS gateway_daemon)
vmgate_unit_test(test_gateway_command
    SOURCES ${VMGATED_DIR}/daemon-tests/test_command.c LIBS gateway_daemon)
vmgate_unit_test(test_gateway_json
    SOURCES ${VMGATED_DIR}/daemon-tests/test_json.c LIBS gateway_daemon)
vmgate_unit_test(test_gateway_startups
    SOURCES ${VMGATED_DIR}/daemon-tests/test_startups.c LIBS gateway_daemon)
vmgate_unit_test(test_gateway_audit
    SOURCES ${VMGATED_DIR}/daemon-tests/test_audit.c LIBS gateway_daemon)
vmgate_unit_test(test_gateway_session
    SOURCES ${VMGATED_DIR}/daemon-tests/test_session.c LIBS gateway_daemon)
# record.c with only what it needs, so it builds on its own
vmgate_unit_test(test_gateway_record
    SOURCES ${VMGATED_DIR}/tests/test_record.c ${VMGATED_DIR}/record.c
            ${VMGATED_DIR}/json.c ${VMGATED_DIR}/log.c
            LIBS gateway_conf vmgate_logesc)

# ---- fuzz targets (the client-facing parsers: command line, escape keys,
# JSON/UTF-8 escaping of guest bytes) ----
vmgate_fuzz_target(fuzz_gateway_command ${VMGATED_DIR}/daemon-fuzz/fuzz_command.c
                   ${VMGATED_DIR}/daemon-fuzz/corpus_command
                   LIBS gateway_daemon)
vmgate_fuzz_target(fuzz_gateway_console ${VMGATED_DIR}/daemon-fuzz/fuzz_console.c
                   ${VMGATED_DIR}/daemon-fuzz/corpus_console
                   LIBS gateway_daemon)

# ---- integration tests: real ssh/paramiko clients against vmgated and real
# monitors, inside tools/kvmbox (no-op where /dev/kvm works) ----
set(GATEWAY_TESTS ${PROJECT_SOURCE_DIR}/tests/gateway)
add_test(NAME gateway_kvm
         COMMAND ${PROJECT_SOURCE_DIR}/tools/kvmbox --timeout 1700
                 --rw ${PROJECT_SOURCE_DIR} --rw ${CMAKE_BINARY_DIR} --
                 /usr/bin/python3 -m pytest -v --durations=10 -p no:cacheprovider
                 ${GATEWAY_TESTS}/test_gateway.py
                 ${GATEWAY_TESTS}/test_gateway_auth.py
                 ${GATEWAY_TESTS}/test_gateway_demo.py
                 ${GATEWAY_TESTS}/test_gateway_sandbox.py
                 ${GATEWAY_TESTS}/test_gateway_vnc.py
         WORKING_DIRECTORY ${GATEWAY_TESTS})
set_tests_properties(gateway_kvm PROPERTIES
  ENVIRONMENT "VMGATE_BUILD=${CMAKE_BINARY_DIR}"
  TIMEOUT 1800 LABELS kvm RESOURCE_LOCK kvmbox)
# The SSH side alone needs no KVM: ssh-audit against vmgated on this host.
# These tests count on the VMs never running ("web1 is not running"), also
# where /dev/kvm works: tools/no-kvm runs them with /dev/kvm unopenable.
add_test(NAME gateway_ssh_audit
         COMMAND ${PROJECT_SOURCE_DIR}/tools/no-kvm
                 /usr/bin/python3 -m pytest -v --durations=10 -p no:cacheprovider
                 ${GATEWAY_TESTS}/test_gateway_crypto.py
                 ${GATEWAY_TESTS}/test_gateway_hostile_audit.py
                 ${GATEWAY_TESTS}/test_gateway_hostile_chandata.py
                 ${GATEWAY_TESTS}/test_gateway_hostile_demo.py
                 ${GATEWAY_TESTS}/test_gateway_hostile_hold.py
                 ${GATEWAY_TESTS}/test_gateway_hostile_kex.py
                 ${GATEWAY_TESTS}/test_gateway_hostile_log.py
                 ${GATEWAY_TESTS}/test_gateway_hostile_nagle.py
                 ${GATEWAY_TESTS}/test_gateway_hostile_power.py
                 ${GATEWAY_TESTS}/test_gateway_hostile_preauth.py
                 ${GATEWAY_TESTS}/test_gateway_hostile_revoke.py
                 ${GATEWAY_TESTS}/test_gateway_hostile_timing.py
                 ${GATEWAY_TESTS}/test_gateway_hostile_tunnel.py
                 ${GATEWAY_TESTS}/test_gateway_hostile_vencrypt.py
                 ${GATEWAY_TESTS}/test_gateway_hostile_spawn.py
         WORKING_DIRECTORY ${GATEWAY_TESTS})
set_tests_properties(gateway_ssh_audit PROPERTIES
  ENVIRONMENT "VMGATE_BUILD=${CMAKE_BINARY_DIR}" TIMEOUT 600)
