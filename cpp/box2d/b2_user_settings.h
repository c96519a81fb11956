// Box2D 2.4.1's user settings (B2_USER_SETTINGS), seen by Box2D and by boxlcd alike.
// Box2D's defaults, but for b2Alloc: Box2D never checks what it allocates, so a failed
// allocation throws std::bad_alloc here instead of handing Box2D a null pointer. The
// exception unwinds out of b2World::Step; the Batch that called it then refuses further use.
#pragma once

#include <stdarg.h>
#include <stdint.h>

#include <new>

#define b2_lengthUnitsPerMeter 1.0f
#define b2_maxPolygonVertices 8

struct B2_API b2BodyUserData {
  uintptr_t pointer = 0;
};
struct B2_API b2FixtureUserData {
  uintptr_t pointer = 0;
};
struct B2_API b2JointUserData {
  uintptr_t pointer = 0;
};

B2_API void* b2Alloc_Default(int32 size);
B2_API void b2Free_Default(void* mem);
B2_API void b2Log_Default(const char* string, va_list args);

inline void* b2Alloc(int32 size) {
  void* p = b2Alloc_Default(size);
  if (p == nullptr && size > 0) throw std::bad_alloc();
  return p;
}

inline void b2Free(void* mem) { b2Free_Default(mem); }

inline void b2Log(const char* string, ...) {
  va_list args;
  va_start(args, string);
  b2Log_Default(string, args);
  va_end(args);
}
