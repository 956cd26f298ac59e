/*
 * Minimal PNG writer (8-bit RGB, zlib-compressed IDAT, W3C PNG 2nd ed.), so
 * that the executable draws figures without Python. Written atomically
 * (temporary name, then rename; see io/output.h).
 */
#pragma once
#include <petscsys.h>

/* Not collective (call on one rank). rgb is w*h*3 bytes, row-major, top row
   first. */
PETSC_EXTERN PetscErrorCode TCPNGWrite(const char path[], PetscInt w, PetscInt h,
                                       const unsigned char *rgb);
