/*
 * PNG writer (see png.h): signature, IHDR, one IDAT (filter 0 per row,
 * deflate at the fastest level -- CT slices are noisy and compress little),
 * IEND; CRC-32 from zlib.
 */
#include "io/png.h"
#include "io/output.h"
#include <errno.h>
#include <stdio.h>
#include <zlib.h>

static void TCPNGChunk(FILE *fp, const char type[4], const unsigned char *data, size_t n)
{
  unsigned char len[4] = {(unsigned char)(n >> 24), (unsigned char)(n >> 16),
                          (unsigned char)(n >> 8), (unsigned char)n};
  uLong         crc    = crc32(0L, Z_NULL, 0);
  unsigned char c[4];
  fwrite(len, 1, 4, fp);
  fwrite(type, 1, 4, fp);
  if (n) fwrite(data, 1, n, fp);
  crc  = crc32(crc, (const Bytef *)type, 4);
  crc  = n ? crc32(crc, data, (uInt)n) : crc;
  c[0] = (unsigned char)(crc >> 24);
  c[1] = (unsigned char)(crc >> 16);
  c[2] = (unsigned char)(crc >> 8);
  c[3] = (unsigned char)crc;
  fwrite(c, 1, 4, fp);
}

PetscErrorCode TCPNGWrite(const char path[], PetscInt w, PetscInt h, const unsigned char *rgb)
{
  static const unsigned char sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
  unsigned char              ihdr[13];
  unsigned char             *raw, *z;
  uLongf                     zn;
  size_t                     rn = (size_t)h * (size_t)(3 * w + 1);
  char                       tmp[PETSC_MAX_PATH_LEN];
  FILE                      *fp;
  int                        zerr, ok;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc1(rn, &raw));
  for (PetscInt j = 0; j < h; j++) {
    raw[(size_t)j * (3 * w + 1)] = 0;
    PetscCall(PetscArraycpy(raw + (size_t)j * (3 * w + 1) + 1, rgb + (size_t)j * 3 * w, 3 * w));
  }
  zn = compressBound((uLong)rn);
  PetscCall(PetscMalloc1(zn, &z));
  zerr = compress2(z, &zn, raw, (uLong)rn, Z_BEST_SPEED);
  PetscCheck(zerr == Z_OK, PETSC_COMM_SELF, PETSC_ERR_LIB, "zlib compress2 failed (%d) for %s",
             zerr, path);
  ihdr[0]  = (unsigned char)(w >> 24);
  ihdr[1]  = (unsigned char)(w >> 16);
  ihdr[2]  = (unsigned char)(w >> 8);
  ihdr[3]  = (unsigned char)w;
  ihdr[4]  = (unsigned char)(h >> 24);
  ihdr[5]  = (unsigned char)(h >> 16);
  ihdr[6]  = (unsigned char)(h >> 8);
  ihdr[7]  = (unsigned char)h;
  ihdr[8]  = 8; /* bit depth */
  ihdr[9]  = 2; /* RGB */
  ihdr[10] = ihdr[11] = ihdr[12] = 0;
  PetscCall(TCOutputTempName(PETSC_COMM_SELF, path, tmp, sizeof(tmp)));
  fp = fopen(tmp, "wb");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot create %s: %s", tmp,
             strerror(errno));
  fwrite(sig, 1, 8, fp);
  TCPNGChunk(fp, "IHDR", ihdr, 13);
  TCPNGChunk(fp, "IDAT", z, zn);
  TCPNGChunk(fp, "IEND", NULL, 0);
  ok = !ferror(fp);
  ok = (fclose(fp) == 0) && ok;
  PetscCall(PetscFree(raw));
  PetscCall(PetscFree(z));
  PetscCheck(ok, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE, "error writing %s", tmp);
  PetscCall(TCOutputCommit(PETSC_COMM_SELF, tmp, path));
  PetscFunctionReturn(0);
}
