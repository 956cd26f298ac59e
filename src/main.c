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
#include "src/runctl.h"
#include "io/deck.h"
#include <hdf5.h>
#include <metis.h>
#include <ctype.h>
#include <petscsnes.h>
#include <petsctao.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <unistd.h>

static const TCCommand *const tc_commands[] = {
    &TCCommandRun,      &TCCommandCell,  &TCCommandTortuosity, &TCCommandMicrostructure,
    &TCCommandGeometry, &TCCommandTrace, &TCCommandCompare, &TCCommandAbuse, &TCCommandSweep,
    &TCCommandFit};
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
  printf("\nRun in parallel with %s -n N tomocell ... or srun tomocell ...\n",
#if defined(OPEN_MPI)
         geteuid() == 0 ? "mpiexec --allow-run-as-root" : "mpiexec"
#else
         "mpiexec"
#endif
  );
  printf(
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

/* ---- command-line option check ------------------------------------------
 * Every option on the command line must be one the command reads: a deck key
 * of its table, one of tomocell's own options below, or a PETSc option of the
 * solvers. PETSc's options are checked against the options database: before
 * the command runs, a probe creates the PETSc objects the commands use (SNES,
 * KSP and PC with the prefixes tomocell gives them, Mat, Vec) and lets them
 * read their options with the options that are on the command line (so a
 * -pc_type gamg probes GAMG's options); an option the probe did not read is
 * unknown. A misspelt option is named with the closest accepted name. */

/* tomocell's options outside the deck tables; cmds: the commands that read
   them (NULL: read by library code that several commands use). */
static const struct {
  const char *name, *cmds;
} tc_extra_options[] = {
    {"restart", " run cell "},
    {"parse_experiment", " cell "},
    /* tomocell sweep's own keys (its command table offers no keys to sweep) */
    {"local", " sweep "},
    {"slurm", " sweep "},
    {"gather", " sweep "},
    {"task", " sweep "},
    {"jobs", " sweep "},
    {"in_process", " sweep "},
    {"worker", " sweep "},
    {"progress", " cell "},
    {"checkpoint_every", " run cell "},
    {"checkpoint_minutes", " run cell "},
    {"checkpoint_test_stop_after", " run cell "},
    {"checkpoint_test_crash_at", " run cell "},
    {"checkpoint_test_signal_at_end", " run cell "},
    {"roll_newton_monitor", " run "},
    {"element_block", " run "},
    {"element_nested_batch", " run "},
    {"roll_pc_lag", " run "},
    {"roll_ksp_eta", " run "},
    {"cell_model", NULL},
    {"cell_newton_maxit", NULL},
    {"cell_nx_n", NULL},
    {"cell_nx_s", NULL},
    {"cell_nx_p", NULL},
    {"cell_nr_n", NULL},
    {"cell_nr_p", NULL},
    {"cell_newton_rtol", NULL},
    {"tau_solver", NULL},
    {"tau_mg_smooth", NULL},
    {"tau_mg_scale", NULL},
    {"tau_mg_coarse", NULL},
    {"tau_mg_levels", NULL},
    {"tau_mg_growth", NULL},
    {"tau_mg_gamma", NULL},
    {"tau_tol", NULL},
    {"net_partition", NULL},
    {"net_partition_ufactor", NULL},
    {"net_partition_edge_weight", NULL},
    {"trace_mode", NULL},
    {"trace_threshold", NULL},
    {"trace_label", NULL},
    {"trace_smooth_px", NULL},
    {"trace_sigma_px", NULL},
    {"trace_resample_px", NULL},
    {"trace_min_turns", NULL},
};
static const int tc_nextra = (int)(sizeof(tc_extra_options) / sizeof(tc_extra_options[0]));

/* name is the deck key, or a name of a prefix key ("probes_*" takes probes_<name>). */
static PetscBool TCKeyNameMatches(const char key[], const char name[])
{
  size_t n = strlen(key);
  if (n > 1 && key[n - 1] == '*')
    return (PetscBool)(strlen(name) > n - 1 && !strncasecmp(key, name, n - 1));
  return (PetscBool)!strcasecmp(key, name);
}

/* option prefixes tomocell gives its PETSc solvers */
static const char *const tc_petsc_prefixes[] = {"", "thermal_", "fit_"};

/* PetscHelpPrintf replacement during the probe: collects the option names
   PETSc prints ("  -ksp_rtol <1e-05>: ...") */
static char  *tc_help_names;
static size_t tc_help_len, tc_help_cap;

static void TCHelpCollectLine(const char *line)
{
  for (const char *p = line; (p = strstr(p, " -")) != NULL;) {
    size_t w;
    p += 2;
    w = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
    if (w < 2 || !isalpha((unsigned char)p[0])) continue;
    if (tc_help_len + w + 2 > tc_help_cap) {
      size_t cap = tc_help_cap ? 2 * tc_help_cap : 1 << 14;
      char  *nb  = (char *)realloc(tc_help_names, cap);
      if (!nb) return;
      tc_help_names = nb, tc_help_cap = cap;
    }
    memcpy(tc_help_names + tc_help_len, p, w);
    tc_help_len += w;
    tc_help_names[tc_help_len++] = '\n';
    tc_help_names[tc_help_len]   = 0;
    p += w;
  }
}

static PetscErrorCode TCHelpCollect(MPI_Comm comm, const char fmt[], ...)
{
  char    line[4096];
  va_list ap;
  (void)comm;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  TCHelpCollectLine(line);
  return 0;
}

/* PetscVFPrintf replacement during the probe: the type lists go to stdout */
static PetscErrorCode (*tc_saved_vfprintf)(FILE *, const char[], va_list);

static PetscErrorCode TCHelpCollectV(FILE *fd, const char fmt[], va_list ap)
{
  char line[8192];
  if (fd != stdout) return tc_saved_vfprintf(fd, fmt, ap);
  vsnprintf(line, sizeof(line), fmt, ap);
  TCHelpCollectLine(line);
  return 0;
}

/* Let the PETSc objects tomocell uses read their options (marks them used). */
/* The objects TCProbeBody() creates; TCProbePetscOptions() destroys them,
   also when a bad option value stops the probe (-ksp_max_it abc). */
typedef struct {
  SNES snes;
  KSP  ksp;
  Tao  tao;
  Mat  A;
  Vec  x;
} TCProbeHeld;

static PetscErrorCode TCProbeBody(TCProbeHeld *h)
{
  PetscBool hypre;

  PetscFunctionBeginUser;
  PetscCall(PetscHasExternalPackage("hypre", &hypre));
  for (size_t p = 0; p < sizeof(tc_petsc_prefixes) / sizeof(tc_petsc_prefixes[0]); p++) {
    PetscCall(SNESCreate(PETSC_COMM_SELF, &h->snes));
    PetscCall(SNESSetOptionsPrefix(h->snes, tc_petsc_prefixes[p]));
    PetscCall(SNESSetFromOptions(h->snes));
    PetscCall(SNESDestroy(&h->snes));
    PetscCall(KSPCreate(PETSC_COMM_SELF, &h->ksp));
    PetscCall(KSPSetOptionsPrefix(h->ksp, tc_petsc_prefixes[p]));
    PetscCall(KSPSetFromOptions(h->ksp));
    PetscCall(KSPDestroy(&h->ksp));
    if (hypre && p < 2) {
      /* the roll's default AMG (BoomerAMG, for the Newton and the thermal
         solves): its options count unless -[thermal_]pc_type names another */
      PC pc;
      PetscCall(KSPCreate(PETSC_COMM_SELF, &h->ksp));
      PetscCall(KSPSetOptionsPrefix(h->ksp, tc_petsc_prefixes[p]));
      PetscCall(KSPGetPC(h->ksp, &pc));
      PetscCall(PCSetType(pc, PCHYPRE));
      PetscCall(KSPSetFromOptions(h->ksp));
      PetscCall(KSPDestroy(&h->ksp));
    }
  }
  {
    /* tomocell fit's TAO (prefix fit_; its type's own options with -fit_tao_type) */
    PetscErrorCode ierr;
    PetscCall(TaoCreate(PETSC_COMM_SELF, &h->tao));
    PetscCall(TaoSetType(h->tao, TAOBRGN));
    PetscCall(TaoSetOptionsPrefix(h->tao, "fit_"));
    /* a bad -fit_tao_type is reported by tomocell fit itself, on all ranks together */
    PetscCall(PetscPushErrorHandler(PetscReturnErrorHandler, NULL));
    ierr = TaoSetFromOptions(h->tao);
    PetscCall(PetscPopErrorHandler());
    (void)ierr;
    PetscCall(TaoDestroy(&h->tao));
  }
  PetscCall(MatCreate(PETSC_COMM_SELF, &h->A));
  PetscCall(MatSetSizes(h->A, 1, 1, 1, 1));
  PetscCall(MatSetFromOptions(h->A));
  PetscCall(MatDestroy(&h->A));
  PetscCall(VecCreate(PETSC_COMM_SELF, &h->x));
  PetscCall(VecSetSizes(h->x, 1, 1));
  PetscCall(VecSetFromOptions(h->x));
  PetscCall(VecDestroy(&h->x));
  PetscFunctionReturn(0);
}

static PetscErrorCode TCProbePetscOptions(void)
{
  PetscErrorCode (*saved)(MPI_Comm, const char[], ...) = PetscHelpPrintf;
  PetscBool      had_help                              = PETSC_FALSE;
  TCProbeHeld    h                                     = {NULL, NULL, NULL, NULL, NULL};
  PetscErrorCode ierr;

  /* not PetscCall after the probe: a bad value was reported where it arose;
     free and restore, then pass it on */
  ierr = PetscOptionsHasName(NULL, NULL, "-help", &had_help);
  if (!ierr && !had_help) ierr = PetscOptionsSetValue(NULL, "-help", NULL);
  if (ierr) return ierr;
  PetscHelpPrintf   = TCHelpCollect;
  tc_saved_vfprintf = PetscVFPrintf;
  PetscVFPrintf     = TCHelpCollectV;
  ierr              = TCProbeBody(&h);
  (void)SNESDestroy(&h.snes);
  (void)KSPDestroy(&h.ksp);
  (void)TaoDestroy(&h.tao);
  (void)MatDestroy(&h.A);
  (void)VecDestroy(&h.x);
  PetscHelpPrintf = saved;
  PetscVFPrintf   = tc_saved_vfprintf;
  if (!had_help) (void)PetscOptionsClearValue(NULL, "-help");
  return ierr;
}

/* PETSc's own run-time options (PetscInitialize, PetscFinalize), not all of
   which are marked used before the command runs */
static const char *const tc_petsc_global[] = {
    "options_left", "options_view", "options_monitor", "options_monitor_cancel", "options_file",
    "options_file_yaml", "options_string_yaml", "prefix_push", "prefix_pop", "skip_petscrc",
    "log_view", "log_view_memory", "log_view_gpu_time", "log_all", "log_trace", "log_exclude",
    "log_sync", "log_summary", "log_perfstubs", "log_mpe", "log", "malloc", "malloc_debug",
    "malloc_dump", "malloc_view", "malloc_view_threshold", "malloc_test", "malloc_coalesce",
    "malloc_requested_size", "malloc_hbw", "memory_view", "objects_dump", "info", "info_exclude",
    "history", "no_signal_handler", "on_error_abort", "on_error_attach_debugger",
    "on_error_emacs", "on_error_malloc_dump", "start_in_debugger", "stop_for_debugger",
    "debugger_ranks", "debugger_nodes", "debugger_pause", "display", "fp_trap",
    "check_pointer_intensity", "error_output_stdout", "viewfromoptions", "use_gpu_aware_mpi",
    "mpi_linear_solver_server", "mpi_linear_solver_server_view", "checkstack", "citations",
    "nox", "nox_warning", "x_virtual", "python", "timeout", "omp_view", "num_threads",
    "sleep", "device_enable", "device_select", "device_view"};

/* PETSc's viewer options are read when an object is viewed (after a solve or
   an assembly), not by SetFromOptions: -ksp_view_mat, -mat_view,
   -snes_converged_reason, -thermal_ksp_converged_reason, ... */
static PetscBool TCPetscViewerOption(const char *name)
{
  for (size_t g = 0; g < sizeof(tc_petsc_global) / sizeof(tc_petsc_global[0]); g++)
    if (!strcasecmp(name, tc_petsc_global[g])) return PETSC_TRUE;
  static const char *const cls[] = {"ksp_", "pc_",  "snes_", "mat_", "vec_",
                                    "dm_",  "is_", "sf_",   "tao_"};
  for (size_t p = 0; p < sizeof(tc_petsc_prefixes) / sizeof(tc_petsc_prefixes[0]); p++) {
    size_t      lp = strlen(tc_petsc_prefixes[p]);
    const char *n  = name + lp;
    if (strncasecmp(name, tc_petsc_prefixes[p], lp)) continue;
    for (size_t c = 0; c < sizeof(cls) / sizeof(cls[0]); c++) {
      size_t lc = strlen(cls[c]);
      if (strncasecmp(n, cls[c], lc)) continue;
      if (!strncasecmp(n + lc, "view", 4) || !strcasecmp(n + lc, "converged_reason") ||
          !strncasecmp(n + lc, "monitor", 7))
        return PETSC_TRUE;
    }
  }
  return PETSC_FALSE;
}

/* A key that holds name as whole words (-soc: initial_soc, -temperature:
   ambient_temperature), for the did-you-mean when no key is close. */
static const char *TCKeyWithWords(const char *name, const char *const *cand, PetscInt n)
{
  size_t ln = strlen(name);
  for (PetscInt i = 0; i < n && ln >= 2; i++)
    for (const char *q = cand[i]; (q = strstr(q, name)) != NULL; q++)
      if ((q == cand[i] || q[-1] == '_') && (q[ln] == 0 || q[ln] == '_')) return cand[i];
  return NULL;
}

/* A deck key of cmd; tomocell fit also takes the keys of the commands whose decks it fits. */
static PetscBool TCCommandHasKey(const TCCommand *cmd, const char *name)
{
  const TCCommand *also[2] = {NULL, NULL};
  if (cmd == &TCCommandFit) also[0] = &TCCommandCell, also[1] = &TCCommandRun;
  for (PetscInt k = 0; k < cmd->nkeys; k++)
    if (TCKeyNameMatches(cmd->keys[k].name, name)) return PETSC_TRUE;
  for (int a = 0; a < 2; a++)
    for (PetscInt k = 0; also[a] && k < also[a]->nkeys; k++)
      if (TCKeyNameMatches(also[a]->keys[k].name, name)) return PETSC_TRUE;
  return PETSC_FALSE;
}

static PetscBool TCExtraOptionFor(const char *name, const TCCommand *cmd)
{
  char word[40];
  snprintf(word, sizeof(word), " %s ", cmd->name);
  for (int i = 0; i < tc_nextra; i++)
    if (!strcasecmp(name, tc_extra_options[i].name) &&
        (!tc_extra_options[i].cmds || strstr(tc_extra_options[i].cmds, word)))
      return PETSC_TRUE;
  return PETSC_FALSE;
}

/* Collective. Refuse command-line options that the command does not read. */
static PetscErrorCode TCCheckCommandLineOptions(const TCCommand *cmd)
{
  PetscInt     N, nbad = 0, nnames = 0;
  char       **names, **values, bad[256] = "";
  const char **cand;
  const char  *close;

  PetscFunctionBeginUser;
  PetscCall(PetscOptionsLeftGet(NULL, &N, &names, &values));
  for (PetscInt i = 0; i < N; i++) {
    PetscBool known = TCExtraOptionFor(names[i], cmd) || TCCommandHasKey(cmd, names[i]);
    if (!known) nbad++;
  }
  PetscCall(PetscOptionsLeftRestore(NULL, &N, &names, &values));
  if (!nbad) PetscFunctionReturn(0);
  /* the rest must be PETSc's */
  PetscCall(TCProbePetscOptions());
  PetscCall(PetscOptionsLeftGet(NULL, &N, &names, &values));
  for (PetscInt i = 0; i < N && !bad[0]; i++) {
    PetscBool known = TCExtraOptionFor(names[i], cmd) || TCCommandHasKey(cmd, names[i]);
    if (!known && !TCPetscViewerOption(names[i]))
      PetscCall(PetscStrncpy(bad, names[i], sizeof(bad)));
  }
  PetscCall(PetscOptionsLeftRestore(NULL, &N, &names, &values));
  if (!bad[0]) {
    free(tc_help_names);
    tc_help_names = NULL, tc_help_len = tc_help_cap = 0;
    PetscFunctionReturn(0);
  }
  /* did you mean: the command's keys, its extra options, PETSc's probed names */
  for (size_t i = 0; i < tc_help_len; i++) nnames += tc_help_names[i] == '\n';
  cand = (const char **)malloc(sizeof(char *) * (size_t)(cmd->nkeys + tc_nextra + nnames + 1));
  nnames = 0;
  if (cand) {
    for (PetscInt k = 0; k < cmd->nkeys; k++) cand[nnames++] = cmd->keys[k].name;
    for (int i = 0; i < tc_nextra; i++)
      if (TCExtraOptionFor(tc_extra_options[i].name, cmd)) cand[nnames++] = tc_extra_options[i].name;
    for (char *p = tc_help_names; p && *p;) {
      char *nl = strchr(p, '\n');
      *nl          = 0;
      cand[nnames++] = p;
      p            = nl + 1;
    }
  }
  close = cand ? TCClosestName(bad, cand, nnames) : NULL;
  if (!close && cand) close = TCKeyWithWords(bad, cand, nnames);
  {
    char        msg[600];
    const char *other = NULL;
    if (close)
      snprintf(msg, sizeof(msg), "; did you mean '%s'?", close);
    else
      msg[0] = 0;
    free(cand);
    free(tc_help_names);
    tc_help_names = NULL, tc_help_len = tc_help_cap = 0;
    for (int c = 0; c < tc_ncommands && !other; c++)
      for (PetscInt k = 0; k < tc_commands[c]->nkeys && !other; k++)
        if (!strcasecmp(bad, tc_commands[c]->keys[k].name)) other = tc_commands[c]->name;
    if (other)
      SETERRQ(PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT,
              "command line: -%s is a key of tomocell %s, not of tomocell %s (tomocell %s --help "
              "lists the keys)",
              bad, other, cmd->name, cmd->name);
    SETERRQ(PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT,
            "command line: unknown key '%s'%s (-%s is neither a key of tomocell %s nor an option of "
            "the PETSc solvers it uses; tomocell %s --help lists the keys)",
            bad, msg, bad, cmd->name, cmd->name);
  }
}

PetscErrorCode TCNoteDefaultOutput(MPI_Comm comm, const char cmd[], const char path[])
{
  PetscFunctionBeginUser;
  if (access(path, F_OK) == 0)
    PetscCall(TCPrintf(comm,
                       "tomocell %s: note: %s exists from an earlier run and will be replaced (the "
                       "default output; give -output to keep both)\n",
                       cmd, path));
  PetscFunctionReturn(0);
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

/* Open MPI defaults that suit a simulator on shared nodes, set before MPI_Init
   unless the user set them (environment OMPI_MCA_*, or mpiexec --mca, which
   passes them the same way); TC_MPI_DEFAULTS=0 leaves everything alone.
   A rank that may run on more than one core (not bound, e.g. mpiexec
   --bind-to none, oversubscribed runs, srun without --cpu-bind): waiting
   yields the core (mpi_yield_when_idle), so a spinning rank does not take
   the core its peer or a competing process needs. A rank bound to one core
   keeps Open MPI's busy polling: there yielding hands the core to a
   competing process for whole time slices (measured 4x slower,
   docs/slurm.md). A singleton (started without mpiexec/srun): no helper
   daemon is forked (ess_singleton_isolated) and only the self transport is
   opened, which takes most of the start-up off a short run such as a
   one-cell `tomocell cell`, and no session directory is made (concurrent
   singletons raced on /tmp/ompi.*). All ranks on one node (mpiexec's
   OMPI_COMM_WORLD_LOCAL_SIZE = OMPI_COMM_WORLD_SIZE, or srun's
   SLURM_STEP_NUM_NODES = 1) and no PML or MTL chosen by the user: the ob1
   PML (shared memory between the ranks), so that the cm PML's probes for
   Omni-Path and TrueScale adapters (the psm2 and psm MTLs, ~0.1 s each) are
   not made: a 2-rank run started 0.2 s sooner (0.47 -> 0.25 s for a short
   roll). Across nodes the transports are left to Open MPI. */
static const char *tc_mpi_set[8]; /* the defaults set, to unset after MPI_Init */
static int         tc_nmpi_set;

static void TCSetDefault(const char *name, const char *value)
{
  if (getenv(name) || tc_nmpi_set == 8) return;
  setenv(name, value, 0);
  tc_mpi_set[tc_nmpi_set++] = name;
}

/* After MPI_Init: the defaults read at start-up are removed from the
   environment again, so that what tomocell starts (sbatch, plots) does not
   take them for the user's settings (a job's ranks would open only the self
   transport). sharedfp stays: Open MPI reads it at the first file opening. */
static void TCUnsetMPIDefaults(void)
{
  for (int i = 0; i < tc_nmpi_set; i++)
    if (strcmp(tc_mpi_set[i], "OMPI_MCA_sharedfp")) unsetenv(tc_mpi_set[i]);
}

static void TCSetMPIDefaults(void)
{
  static const char *const all[][2] = {{"OMPI_MCA_mpi_yield_when_idle", "1"}};
  static const char *const single[][2] = {{"OMPI_MCA_ess_singleton_isolated", "1"},
                                          {"OMPI_MCA_pml", "ob1"},
                                          {"OMPI_MCA_btl", "self"},
                                          /* needs the daemon's session directory */
                                          {"OMPI_MCA_sharedfp", "^sm"},
                                          /* no session directory under /tmp: a singleton
                                             ending removes the shared top directory
                                             while another one starting creates its
                                             own below it, and that one's orte_init
                                             fails (12 of 60 staggered concurrent
                                             starts, as sweep -local workers make) */
                                          {"OMPI_MCA_orte_create_session_dirs", "0"}};
  const char              *off         = getenv("TC_MPI_DEFAULTS");
  int                      singleton;

  if (off && !strcmp(off, "0")) return;
  singleton = !getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMIX_RANK") && !getenv("PMI_RANK") &&
              !getenv("PMI_SIZE") && !getenv("SLURM_STEP_ID");
  {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 1)
      for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        TCSetDefault(all[i][0], all[i][1]);
  }
  for (size_t i = 0; singleton && i < sizeof(single) / sizeof(single[0]); i++)
    TCSetDefault(single[i][0], single[i][1]);
  if (!singleton && !getenv("OMPI_MCA_pml") && !getenv("OMPI_MCA_mtl")) {
    const char *ws = getenv("OMPI_COMM_WORLD_SIZE"), *ls = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    const char *nn = getenv("SLURM_STEP_NUM_NODES");
    if ((ws && ls && !strcmp(ws, ls)) || (!ws && nn && !strcmp(nn, "1")))
      TCSetDefault("OMPI_MCA_pml", "ob1");
  }
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
  for (int a = 2; a < argc; a++) {
    if (!strcmp(argv[a], "--help") || !strcmp(argv[a], "-h") || !strcmp(argv[a], "-help")) {
      printf("usage: %s\n\n%s\n\n", cmd->usage, cmd->summary);
      cmd->help();
      return 0;
    }
    if (!strcmp(argv[a], "--version") || !strcmp(argv[a], "-version")) {
      TCPrintVersion();
      return 0;
    }
    /* PETSc reads --key as -key; tomocell spells its options with one dash */
    if (argv[a][0] == '-' && argv[a][1] == '-' && argv[a][2]) {
      fprintf(stderr, "tomocell %s: unknown option '%s'; options have one dash (-%s) (tomocell %s --help)\n",
              cmd->name, argv[a], argv[a] + 2, cmd->name);
      return 2;
    }
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
  TCSetMPIDefaults();
  ierr = PetscInitialize(&pargc, &pargv, NULL, NULL);
  TCUnsetMPIDefaults();
  if (ierr) {
    free(pargv);
    return 1;
  }
  ierr = TCInitialize();
  /* stdout into a pipe closed early (tomocell ... | head): the run goes on and
     writes its results; PETSc's handler printed a trace and aborted */
  signal(SIGPIPE, SIG_IGN);
  if (!ierr) ierr = TCCheckCommandLineOptions(cmd);
  /* positional arguments are inputs: regular files only, never overwritten */
  for (int i = 0; !ierr && i < npos; i++) ierr = TCInputCheck(PETSC_COMM_WORLD, pos[i]);
  if (!ierr) ierr = cmd->run(npos, pos);
  TCOutputUnlock(0);
  if (ierr) TCDeckDestroyAll();
  if (!ierr) ierr = TCRunControlFinish(PETSC_COMM_WORLD, PETSC_TRUE, PETSC_FALSE);
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
