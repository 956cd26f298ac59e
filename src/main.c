/*
 * tomocell: the command-line entry point. Parses the subcommand and its
 * positional arguments, hands the remaining options to PETSc, and runs the
 * subcommand. Exit codes: 0 success, 1 the run failed (bad input, no
 * convergence, I/O error: the message says which), 2 usage error, 3 stopped by
 * SIGTERM/SIGUSR1 after writing a checkpoint (resubmit with -restart).
 */
#include "src/commands.h"
#include "src/tc.h"
#include "io/output.h"
#include "io/h5.h"
#include <hdf5.h>
#include <metis.h>

static const TCCommand *const tc_commands[] = {
    &TCCommandRun,      &TCCommandCell,  &TCCommandTortuosity, &TCCommandMicrostructure,
    &TCCommandGeometry, &TCCommandTrace, &TCCommandCompare, &TCCommandAbuse, &TCCommandSweep};
static const int tc_ncommands = (int)(sizeof(tc_commands) / sizeof(tc_commands[0]));

static void TCPrintVersion(void)
{
  unsigned maj, min, rel;
  char     mpiver[MPI_MAX_LIBRARY_VERSION_STRING] = "";
  int      len                                    = 0;
  char     petscver[128];
  H5get_libversion(&maj, &min, &rel);
  MPI_Get_library_version(mpiver, &len);
  mpiver[strcspn(mpiver, ",\n")] = 0;
  PetscGetVersion(petscver, sizeof(petscver));
  printf("tomocell %s (%s)\n", TC_VERSION, TC_GIT_DESCRIBE);
  printf("  %s\n  HDF5 %u.%u.%u (parallel)\n  METIS %d.%d.%d\n  %s\n", petscver, maj, min, rel,
         METIS_VER_MAJOR, METIS_VER_MINOR, METIS_VER_SUBMINOR, mpiver);
}

static void TCPrintHelp(void)
{
  printf("tomocell %s -- MPI-parallel lithium-ion cell simulator on tomography geometry\n\n",
         TC_VERSION);
  printf("usage: tomocell COMMAND [ARGS] [-key value ...] [PETSc options]\n"
         "       tomocell COMMAND --help\n"
         "       tomocell --version\n\ncommands:\n");
  for (int c = 0; c < tc_ncommands; c++)
    printf("  %-15s %s\n", tc_commands[c]->name, tc_commands[c]->summary);
  printf("\nRun in parallel with mpiexec -n N tomocell ... or srun tomocell ...\n"
         "Every deck key is also an option (-key value) and the command line wins.\n"
         "PETSc options (-ksp_type, -pc_type, -log_view, ...) apply to the solvers.\n"
         "Exit status: 0 success, 1 the run failed (the message says why), 2 usage error,\n"
         "  3 stopped by SIGTERM/SIGUSR1 and checkpointed (resubmit with -restart).\n");
}

static PetscBool TCIsHelp(const char *a)
{
  return (PetscBool)(!strcmp(a, "--help") || !strcmp(a, "-h") || !strcmp(a, "-help") ||
                     !strcmp(a, "help"));
}

const TCCommand *TCCommandFind(const char *name)
{
  for (int c = 0; c < tc_ncommands; c++)
    if (!strcmp(name, tc_commands[c]->name)) return tc_commands[c];
  return NULL;
}

static char **tc_start_env;

char **TCStartEnvironment(void)
{
  return tc_start_env;
}

/* Deep copy of environ before MPI_Init adds its variables (never freed). */
static void TCSaveEnvironment(void)
{
  extern char **environ;
  int           n = 0;
  while (environ[n]) n++;
  tc_start_env = (char **)calloc((size_t)n + 1, sizeof(char *));
  for (int i = 0; tc_start_env && i < n; i++) tc_start_env[i] = strdup(environ[i]);
}

int main(int argc, char **argv)
{
  const TCCommand *cmd  = NULL;
  int              npos = 0, pargc;
  char           **pargv, **pos;
  PetscErrorCode   ierr;

  if (argc < 2 || TCIsHelp(argv[1])) {
    TCPrintHelp();
    return argc < 2 ? 2 : 0;
  }
  if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-version")) {
    TCPrintVersion();
    return 0;
  }
  for (int c = 0; c < tc_ncommands; c++)
    if (!strcmp(argv[1], tc_commands[c]->name)) cmd = tc_commands[c];
  if (!cmd) {
    fprintf(stderr, "tomocell: unknown command '%s'; commands are:", argv[1]);
    for (int c = 0; c < tc_ncommands; c++) fprintf(stderr, " %s", tc_commands[c]->name);
    fprintf(stderr, " (tomocell --help)\n");
    return 2;
  }
  for (int a = 2; a < argc; a++)
    if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h")) {
      printf("usage: %s\n\n%s\n\n", cmd->usage, cmd->summary);
      cmd->help();
      return 0;
    }
  /* positional arguments come right after the command, before any option */
  pos = argv + 2;
  while (2 + npos < argc && argv[2 + npos][0] != '-') npos++;
  if (npos < cmd->min_pos || npos > cmd->max_pos) {
    fprintf(
        stderr,
        "tomocell %s: expected %d%s positional argument(s) before the options, got %d\nusage: %s\n",
        cmd->name, cmd->min_pos, cmd->max_pos > cmd->min_pos ? " or more" : "", npos, cmd->usage);
    return 2;
  }
  pargc = argc - 1 - npos;
  pargv = (char **)malloc(sizeof(char *) * (size_t)(pargc + 1));
  if (!pargv) return 1;
  pargv[0] = argv[0];
  for (int a = 2 + npos, k = 1; a < argc; a++, k++) pargv[k] = argv[a];
  pargv[pargc] = NULL;

  TCSaveEnvironment();
  ierr = PetscInitialize(&pargc, &pargv, NULL, NULL);
  if (ierr) {
    free(pargv);
    return 1;
  }
  ierr = TCInitialize();
  /* positional arguments are inputs: regular files only, never overwritten */
  for (int i = 0; !ierr && i < npos; i++) ierr = TCInputCheck(PETSC_COMM_WORLD, pos[i]);
  if (!ierr) ierr = cmd->run(npos, pos);
  if (ierr) {
    PetscMPIInt size = 1;
    MPI_Comm_size(PETSC_COMM_WORLD, &size);
    /* HDF5 files closed before their removal and before MPI_Finalize would close
       them (collective: only when every rank failed together) */
    if (size == 1 || TCErrorWasCollective()) TCH5CloseAll();
    TCOutputAbandon();
    if (size > 1 && !TCErrorWasCollective()) MPI_Abort(PETSC_COMM_WORLD, 1);
    PetscFinalize();
    free(pargv);
    return 1;
  }
  ierr = PetscFinalize();
  free(pargv);
  return ierr ? 1 : TCGetExitStatus();
}
