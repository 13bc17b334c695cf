# CMake toolchain file for the C example (and a template for a firmware project): GCC for bare-metal Arm.
#
#   cmake -S boards/c-example -B build/c-example -DCMAKE_TOOLCHAIN_FILE=boards/c-example/arm-none-eabi.cmake \
#         [-DARM_CPU=cortex-m55]
#
# ARM_CPU: cortex-m4 (default; with its single-precision FPU) or cortex-m55 (FPU and Helium). emkern's
# core/ffi/CMakeLists.txt reads the -mcpu= and -mfloat-abi= below to choose the Rust target and CPU.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(ARM_CPU cortex-m4 CACHE STRING "The Cortex-M core: cortex-m4 or cortex-m55")
if(ARM_CPU STREQUAL "cortex-m4")
  set(_arm_flags "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
elseif(ARM_CPU STREQUAL "cortex-m55")
  set(_arm_flags "-mcpu=cortex-m55 -mthumb -mfloat-abi=hard")
else()
  message(FATAL_ERROR "ARM_CPU=${ARM_CPU}: expected cortex-m4 or cortex-m55")
endif()
set(CMAKE_C_FLAGS_INIT "${_arm_flags}")
set(CMAKE_ASM_FLAGS_INIT "${_arm_flags}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "${_arm_flags}")
