// harness/test/shim/fail_pthread_create.cpp — an LD_PRELOAD shim for the end-to-end tests: with
// PSGD_FAIL_PTHREAD_CREATE=K, the process's K-th pthread_create and every later one fail with
// EAGAIN, as they do when a pid, thread or address-space limit is reached. Without the variable
// (or with K <= 0) every call goes through.
#include <dlfcn.h>
#include <pthread.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>

namespace {

using PthreadCreate = int (*)(pthread_t*, const pthread_attr_t*, void* (*)(void*), void*);

long fail_from() {
  const char* k = std::getenv("PSGD_FAIL_PTHREAD_CREATE");
  return k != nullptr ? std::strtol(k, nullptr, 10) : 0;
}

}  // namespace

extern "C" int pthread_create(pthread_t* thread, const pthread_attr_t* attr, void* (*start)(void*),
                              void* arg) {
  static const long fail_from_call = fail_from();
  // relaxed: only the count matters; the calls are ordered by the program that makes them.
  static std::atomic<long> calls{0};
  if (fail_from_call > 0 && calls.fetch_add(1, std::memory_order_relaxed) + 1 >= fail_from_call) {
    return EAGAIN;
  }
  // The next definition in the lookup order: libc's, or a sanitizer's interceptor.
  static const auto real = reinterpret_cast<PthreadCreate>(dlsym(RTLD_NEXT, "pthread_create"));
  return real(thread, attr, start, arg);
}
