/*
 * tomocell sweep SWEEP.yaml: expand a sweep over deck keys into tasks, run
 * them here (-local) or as a Slurm job array (-slurm), run one task (-task N,
 * what each array task does) and gather every task's summary into one table
 * (-gather). See io/sweep.h for the file format.
 *
 * Layout of the sweep directory:
 *   tasks.csv              task, parameter values (written at expansion)
 *   task_NNNN/             one per task: the command's output, log.txt and
 *                          status.json (exit code, wall time), written when
 *                          the task ends; a task with exit code 0 is done and
 *                          is skipped when the sweep is run again
 *   results.csv, results.h5, plot.png     from -gather
 *   sweep.sbatch, gather.sbatch           from -slurm
 */
#include "io/h5.h"
#include "io/json.h"
#include "io/output.h"
#include "io/sweep.h"
#include "src/commands.h"
#include "src/runctl.h"
#include "src/tc.h"
#include "tcversion.h"
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef TC_SOURCE_DIR
#define TC_SOURCE_DIR "."
#endif

static const TCKey sweep_keys[] = {
    {"local", TC_KEY_BOOL, "false", 0, 0, PETSC_FALSE, NULL,
     "run the tasks on this machine, at most -jobs at a time", PETSC_FALSE},
    {"slurm", TC_KEY_BOOL, "false", 0, 0, PETSC_FALSE, NULL,
     "write and submit a Slurm job array of the unfinished tasks and a gather job (afterany)",
     PETSC_FALSE},
    {"gather", TC_KEY_BOOL, "false", 0, 0, PETSC_FALSE, NULL,
     "collect the tasks' summaries into results.csv, results.h5 and a plot; exit status 1 "
     "while tasks failed or are unfinished, listing them",
     PETSC_FALSE},
    {"task", TC_KEY_INT, "-1", -1, 1e9, PETSC_FALSE, NULL,
     "run only task N (what each Slurm array task does)", PETSC_FALSE},
    {"jobs", TC_KEY_INT, "0", 0, 4096, PETSC_FALSE, NULL,
     "-local: tasks at a time (default: cores / ranks per task)", PETSC_FALSE},
    {"in_process", TC_KEY_BOOL, "true", 0, 0, PETSC_FALSE, NULL,
     "-local, one-rank tasks: run the tasks inside one worker process per job (false: one "
     "process per task)",
     PETSC_FALSE},
    {"worker", TC_KEY_BOOL, "false", 0, 0, PETSC_FALSE, NULL,
     "internal: be a worker of -local (task numbers on stdin, results on fd 3)", PETSC_FALSE},
};
static const PetscInt sweep_nkeys = (PetscInt)(sizeof(sweep_keys) / sizeof(sweep_keys[0]));

static void SweepHelp(void)
{
  printf("Options:\n");
  TCDeckPrintKeys(sweep_keys, sweep_nkeys);
  printf("\nSweep file (YAML):\n"
         "  sweep:      command (run, tortuosity, ...), input (its deck or volume), kind\n"
         "              (product|zip|lhs), samples and seed (lhs), output (directory,\n"
         "              default output/<sweep name>), ranks (MPI ranks per task)\n"
         "  parameters: deck key: [list] | {from, to, num[, log: true]} | {min, max} (lhs)\n"
         "  gather:     outputs: [dotted paths in the summary JSON], plot_x, plot_y\n"
         "Without -local/-slurm/-gather/-task it lists the tasks and writes tasks.csv.\n"
         "Environment: MPIEXEC (default mpiexec) starts tasks with ranks > 1 outside Slurm;\n"
         "  SBATCH (default sbatch) and SBATCH_ARGS (extra sbatch options) for -slurm.\n");
}

static PetscErrorCode TaskDir(const TCSweep *sw, PetscInt i, char *buf, size_t len)
{
  PetscFunctionBeginUser;
  PetscCheck(snprintf(buf, len, "%s/task_%04d", sw->output, (int)i) < (int)len, PETSC_COMM_SELF,
             PETSC_ERR_USER_INPUT, "sweep output path too long");
  PetscFunctionReturn(0);
}

/* 1 done, -1 failed (exit code in *code), 0 not run */
static int TaskState(const TCSweep *sw, PetscInt i, int *code)
{
  char      dir[PETSC_MAX_PATH_LEN], path[PETSC_MAX_PATH_LEN + 16], buf[4096];
  FILE     *fp;
  size_t    n;
  double    v;
  PetscBool found;

  if (TaskDir(sw, i, dir, sizeof(dir))) return 0;
  snprintf(path, sizeof(path), "%s/status.json", dir);
  if (!(fp = fopen(path, "r"))) return 0;
  n      = fread(buf, 1, sizeof(buf) - 1, fp);
  buf[n] = 0;
  fclose(fp);
  if (TCJsonLookup(buf, "exit_code", &v, &found) || !found) return 0;
  *code = (int)v;
  return v == 0 ? 1 : -1;
}

static PetscErrorCode SelfExe(char *buf, size_t len)
{
  ssize_t n = readlink("/proc/self/exe", buf, len - 1);

  PetscFunctionBeginUser;
  PetscCheck(n > 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot find the tomocell executable");
  buf[n] = 0;
  PetscFunctionReturn(0);
}

/* Start task i as a child process (not waited for); its output goes to
   task_i/log.txt. */
static PetscErrorCode TaskStart(const TCSweep *sw, const TCCommand *cmd, PetscInt i, pid_t *pid)
{
  char dir[PETSC_MAX_PATH_LEN], out[PETSC_MAX_PATH_LEN + 64], log[PETSC_MAX_PATH_LEN + 16],
      exe[PETSC_MAX_PATH_LEN], nr[16];
  const char *argv[256];
  int         a       = 0;
  const char *mpiexec = getenv("MPIEXEC");

  PetscFunctionBeginUser;
  PetscCall(TaskDir(sw, i, dir, sizeof(dir)));
  PetscCheck(mkdir(dir, 0777) == 0 || errno == EEXIST, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
             "cannot create %s: %s", dir, strerror(errno));
  snprintf(out, sizeof(out), "%s/%s", dir, cmd->sweep_output);
  snprintf(log, sizeof(log), "%s/log.txt", dir);
  snprintf(nr, sizeof(nr), "%d", (int)sw->ranks);
  PetscCall(SelfExe(exe, sizeof(exe)));
  if (sw->ranks > 1) {
    if (getenv("SLURM_JOB_ID"))
      argv[a++] = "srun", argv[a++] = "-n", argv[a++] = nr;
    else {
      /* MPIEXEC may carry flags: "mpiexec --oversubscribe" */
      static char words[1024];
      char       *w, *save = NULL;
      PetscCall(PetscStrncpy(words, mpiexec ? mpiexec : "mpiexec", sizeof(words)));
      PetscBool   root = PETSC_FALSE, over = PETSC_FALSE;
      for (w = strtok_r(words, " \t", &save); w && a < 16; w = strtok_r(NULL, " \t", &save)) {
        argv[a++] = w;
        if (!strcmp(w, "--allow-run-as-root")) root = PETSC_TRUE;
        if (!strcmp(w, "--oversubscribe")) over = PETSC_TRUE;
      }
#if defined(OPEN_MPI)
      /* Open MPI refuses root without --allow-run-as-root, and more ranks
         than cores without --oversubscribe */
      if (!root && geteuid() == 0) argv[a++] = "--allow-run-as-root";
      if (!over && sw->ranks > sysconf(_SC_NPROCESSORS_ONLN)) argv[a++] = "--oversubscribe";
#else
      (void)root, (void)over;
#endif
      argv[a++] = "-n", argv[a++] = nr;
    }
  }
  argv[a++] = exe;
  argv[a++] = sw->command;
  if (sw->input[0]) argv[a++] = sw->input;
  PetscCheck(sw->nparams < 100, PETSC_COMM_SELF, PETSC_ERR_SUP, "at most 99 parameters");
  {
    static char opt[100][160];
    for (PetscInt k = 0; k < sw->nparams; k++) {
      snprintf(opt[k], sizeof(opt[k]), "-%s", sw->params[k]);
      argv[a++] = opt[k];
      argv[a++] = sw->values[i * sw->nparams + k];
    }
  }
  argv[a++] = "-output";
  argv[a++] = out;
  argv[a]   = NULL;
  fflush(stdout);
  *pid = fork();
  PetscCheck(*pid >= 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "fork failed: %s", strerror(errno));
  if (*pid == 0) {
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd >= 0) dup2(fd, 1), dup2(fd, 2), close(fd);
    execvpe(argv[0], (char *const *)argv, TCStartEnvironment());
    fprintf(stderr, "tomocell sweep: cannot start %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  PetscFunctionReturn(0);
}

static int StatusCode(int status)
{
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* task i ended with exit code code after wall seconds: status.json, a line */
static PetscErrorCode TaskFinish(const TCSweep *sw, PetscInt i, int code, double wall, pid_t pid)
{
  char  dir[PETSC_MAX_PATH_LEN], path[PETSC_MAX_PATH_LEN + 16], tmp[PETSC_MAX_PATH_LEN + 32];
  FILE *fp;

  PetscFunctionBeginUser;
  PetscCall(TaskDir(sw, i, dir, sizeof(dir)));
  snprintf(path, sizeof(path), "%s/status.json", dir);
  snprintf(tmp, sizeof(tmp), "%s.tmp-%d", path, (int)getpid());
  fp = fopen(tmp, "w");
  PetscCheck(fp, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s", tmp);
  {
    TCJson js;
    TCJsonBegin(&js, fp);
    TCJsonInt(&js, "task", (long long)i);
    TCJsonInt(&js, "exit_code", code);
    TCJsonReal(&js, "wall_s", wall);
    TCJsonInt(&js, "pid", (long long)pid); /* the process that ran it */
    TCJsonObjectBegin(&js, "parameters");
    for (PetscInt k = 0; k < sw->nparams; k++)
      TCJsonString(&js, sw->params[k], sw->values[i * sw->nparams + k]);
    TCJsonObjectEnd(&js);
    TCJsonEnd(&js);
  }
  PetscCheck(fclose(fp) == 0 && rename(tmp, path) == 0, PETSC_COMM_SELF, PETSC_ERR_FILE_WRITE,
             "cannot write %s", path);
  PetscCall(TCPrintf(PETSC_COMM_SELF, "  task %d %s (%.1f s)%s%s\n", (int)i,
                     code ? "FAILED" : "done", wall, code ? ": see " : "", code ? dir : ""));
  PetscFunctionReturn(0);
}

/* Run the tasks in list[0..n-1], at most jobs at a time. */
static PetscErrorCode SweepRun(const TCSweep *sw, const TCCommand *cmd, const PetscInt *list,
                               PetscInt n, PetscInt jobs, PetscInt *nfailed)
{
  pid_t          *pid;
  PetscInt       *which, running = 0, next = 0;
  PetscLogDouble *t0;

  PetscFunctionBeginUser;
  *nfailed = 0;
  PetscCall(PetscMalloc3(jobs, &pid, jobs, &which, jobs, &t0));
  while (next < n || running) {
    while (running < jobs && next < n) {
      PetscCall(PetscTime(&t0[running]));
      which[running] = list[next++];
      PetscCall(TaskStart(sw, cmd, which[running], &pid[running]));
      running++;
    }
    {
      int            status;
      pid_t          done = wait(&status);
      PetscLogDouble t1;
      PetscCheck(done > 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "wait failed: %s", strerror(errno));
      PetscCall(PetscTime(&t1));
      for (PetscInt k = 0; k < running; k++)
        if (pid[k] == done) {
          PetscCall(TaskFinish(sw, which[k], StatusCode(status), t1 - t0[k], done));
          if (!WIFEXITED(status) || WEXITSTATUS(status)) (*nfailed)++;
          pid[k] = pid[running - 1], which[k] = which[running - 1], t0[k] = t0[running - 1];
          running--;
          break;
        }
    }
  }
  PetscCall(PetscFree3(pid, which, t0));
  PetscFunctionReturn(0);
}

/* ---- in-process tasks (-local, one rank per task) ----------------------------
   A worker is `tomocell sweep SWEEP.yaml -worker`, started once per job: it
   reads task numbers, one per line, on stdin, runs each inside its own
   process (MPI and PETSc initialised once) and writes "i code\n" to fd 3 when
   the task has ended. A task sees what a process of its own would: PETSc
   options of its own (PETSC_OPTIONS, then the task's -key value and
   -output), its output in task_i/, stdout and stderr in task_i/log.txt, and
   the same exit code (1 on error, else the command's exit status). A worker
   that dies (a crash in a task) fails that task only; the parent starts a
   new worker for the rest. */

/* Run task i in this process; *code its exit code. */
static PetscErrorCode TaskRunHere(const TCSweep *sw, const TCCommand *cmd, PetscInt i, int *code)
{
  char dir[PETSC_MAX_PATH_LEN], out[PETSC_MAX_PATH_LEN + 64], log[PETSC_MAX_PATH_LEN + 16],
      opt[200];
  char          *pos[1] = {(char *)sw->input};
  const char    *env    = getenv("PETSC_OPTIONS");
  PetscOptions   opts;
  PetscErrorCode ierr;
  int            fd, save1, save2, mark;

  PetscFunctionBeginUser;
  PetscCall(TaskDir(sw, i, dir, sizeof(dir)));
  PetscCheck(mkdir(dir, 0777) == 0 || errno == EEXIST, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
             "cannot create %s: %s", dir, strerror(errno));
  snprintf(out, sizeof(out), "%s/%s", dir, cmd->sweep_output);
  snprintf(log, sizeof(log), "%s/log.txt", dir);
  fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0666);
  PetscCheck(fd >= 0, PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN, "cannot write %s: %s", log,
             strerror(errno));
  PetscCall(PetscOptionsCreate(&opts));
  if (env) PetscCall(PetscOptionsInsertString(opts, env));
  for (PetscInt k = 0; k < sw->nparams; k++) {
    snprintf(opt, sizeof(opt), "-%s", sw->params[k]);
    PetscCall(PetscOptionsSetValue(opts, opt, sw->values[i * sw->nparams + k]));
  }
  PetscCall(PetscOptionsSetValue(opts, "-output", out));
  fflush(stdout);
  fflush(stderr);
  save1 = dup(1);
  save2 = dup(2);
  dup2(fd, 1);
  dup2(fd, 2);
  close(fd);
  PetscCall(PetscOptionsPush(opts));
  TCSetExitStatus(0);
  TCOutputForgetAll();
  mark = TCOutputLockMark();
  ierr = cmd->run(sw->input[0] ? 1 : 0, pos);
  TCOutputUnlock(mark);         /* the task's locks; the sweep's own stays */
  if (ierr) TCDeckDestroyAll(); /* the failed task's (the sweep holds none while tasks run) */
  PetscCall(TCRunControlFinish(PETSC_COMM_WORLD, ierr ? PETSC_FALSE : PETSC_TRUE, PETSC_TRUE));
  if (ierr) TCOutputAbandon();
  *code = ierr ? 1 : TCGetExitStatus();
  PetscCall(PetscOptionsPop());
  PetscCall(PetscOptionsDestroy(&opts));
  fflush(stdout);
  fflush(stderr);
  dup2(save1, 1);
  dup2(save2, 2);
  close(save1);
  close(save2);
  TCSetExitStatus(0);
  PetscFunctionReturn(0);
}

/* The worker's loop (stdin: task numbers; fd 3: results). */
static PetscErrorCode SweepWorker(const TCSweep *sw, const TCCommand *cmd)
{
  char line[64];

  PetscFunctionBeginUser;
  while (fgets(line, sizeof(line), stdin)) {
    long i = strtol(line, NULL, 10);
    int  code = 1, n;
    char msg[64];
    PetscCheck(i >= 0 && i < sw->ntasks, PETSC_COMM_SELF, PETSC_ERR_ARG_OUTOFRANGE,
               "sweep worker: no task %ld", i);
    PetscCall(TaskRunHere(sw, cmd, (PetscInt)i, &code));
    n = snprintf(msg, sizeof(msg), "%ld %d\n", i, code);
    PetscCheck(write(3, msg, (size_t)n) == n, PETSC_COMM_SELF, PETSC_ERR_SYS,
               "sweep worker: cannot report task %ld: %s", i, strerror(errno));
  }
  PetscFunctionReturn(0);
}

typedef struct {
  pid_t          pid;
  int            in, res; /* write end of its task pipe, read end of its result pipe */
  PetscInt       task;    /* running, or -1 */
  PetscLogDouble t0;
  char           buf[64];
  size_t         nbuf;
} TCSweepWorker;

static PetscErrorCode WorkerStart(const char *sweepfile, TCSweepWorker *w)
{
  int         tp[2], rp[2];
  char        exe[PETSC_MAX_PATH_LEN];
  const char *argv[5];

  PetscFunctionBeginUser;
  PetscCall(SelfExe(exe, sizeof(exe)));
  argv[0] = exe, argv[1] = "sweep", argv[2] = sweepfile, argv[3] = "-worker", argv[4] = NULL;
  PetscCheck(pipe(tp) == 0 && pipe(rp) == 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "pipe failed: %s",
             strerror(errno));
  fflush(stdout);
  w->pid = fork();
  PetscCheck(w->pid >= 0, PETSC_COMM_SELF, PETSC_ERR_SYS, "fork failed: %s", strerror(errno));
  if (w->pid == 0) {
    dup2(tp[0], 0);
    if (rp[1] != 3) dup2(rp[1], 3);
    for (int fd = 4; fd < 1024; fd++) close(fd);
    execve(argv[0], (char *const *)argv, TCStartEnvironment());
    fprintf(stderr, "tomocell sweep: cannot start a worker %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(tp[0]);
  close(rp[1]);
  w->in   = tp[1];
  w->res  = rp[0];
  w->task = -1;
  w->nbuf = 0;
  PetscFunctionReturn(0);
}

/* Run the one-rank tasks list[0..n-1] on jobs in-process workers. */
static PetscErrorCode SweepRunWorkers(const TCSweep *sw, const char *sweepfile, const PetscInt *list,
                                      PetscInt n, PetscInt jobs, PetscInt *nfailed)
{
  TCSweepWorker *w;
  struct pollfd *pfd;
  PetscInt       next = 0, nw = PetscMin(jobs, n), busy = 0;

  PetscFunctionBeginUser;
  *nfailed = 0;
  if (n == 0) PetscFunctionReturn(0);
  signal(SIGPIPE, SIG_IGN);
  PetscCall(PetscCalloc2(nw, &w, nw, &pfd));
  for (PetscInt k = 0; k < nw; k++) PetscCall(WorkerStart(sweepfile, &w[k]));
  while (next < n || busy) {
    for (PetscInt k = 0; k < nw && next < n; k++) {
      char msg[32];
      int  len;
      if (w[k].task >= 0) continue;
      if (w[k].pid <= 0) PetscCall(WorkerStart(sweepfile, &w[k]));
      w[k].task = list[next++];
      PetscCall(PetscTime(&w[k].t0));
      len = snprintf(msg, sizeof(msg), "%d\n", (int)w[k].task);
      for (int attempt = 0; write(w[k].in, msg, (size_t)len) != len; attempt++) {
        int st = 0; /* it died idle (or at start-up): a new one, a few times */
        close(w[k].in), close(w[k].res), waitpid(w[k].pid, &st, 0);
        PetscCheck(attempt < 3, PETSC_COMM_SELF, PETSC_ERR_SYS,
                   "cannot start a sweep worker (%s sweep %s -worker exits with %d)", "tomocell",
                   sweepfile, StatusCode(st));
        PetscCall(WorkerStart(sweepfile, &w[k]));
        w[k].task = list[next - 1];
      }
      busy++;
    }
    for (PetscInt k = 0; k < nw; k++) pfd[k].fd = w[k].task >= 0 ? w[k].res : -1, pfd[k].events = POLLIN;
    PetscCheck(poll(pfd, (nfds_t)nw, -1) >= 0 || errno == EINTR, PETSC_COMM_SELF, PETSC_ERR_SYS,
               "poll failed: %s", strerror(errno));
    for (PetscInt k = 0; k < nw; k++) {
      ssize_t        got;
      char          *nl;
      PetscLogDouble t1;
      if (w[k].task < 0 || !(pfd[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      got = read(w[k].res, w[k].buf + w[k].nbuf, sizeof(w[k].buf) - 1 - w[k].nbuf);
      PetscCall(PetscTime(&t1));
      if (got > 0) {
        long i;
        int  code;
        w[k].nbuf += (size_t)got;
        w[k].buf[w[k].nbuf] = 0;
        if (!(nl = strchr(w[k].buf, '\n'))) continue;
        PetscCheck(sscanf(w[k].buf, "%ld %d", &i, &code) == 2 && i == w[k].task, PETSC_COMM_SELF,
                   PETSC_ERR_SYS, "sweep worker: unexpected report '%s'", w[k].buf);
        w[k].nbuf = 0;
        PetscCall(TaskFinish(sw, w[k].task, code, t1 - w[k].t0, w[k].pid));
        if (code) (*nfailed)++;
      } else { /* the worker died in the task */
        int st = 0;
        close(w[k].in), close(w[k].res);
        waitpid(w[k].pid, &st, 0);
        PetscCall(TaskFinish(sw, w[k].task, StatusCode(st) ? StatusCode(st) : 1, t1 - w[k].t0,
                             w[k].pid));
        w[k].pid = 0;
        (*nfailed)++;
      }
      w[k].task = -1;
      busy--;
    }
  }
  for (PetscInt k = 0; k < nw; k++)
    if (w[k].pid > 0) {
      int st;
      close(w[k].in), close(w[k].res);
      waitpid(w[k].pid, &st, 0);
    }
  PetscCall(PetscFree2(w, pfd));
  PetscFunctionReturn(0);
}

static PetscErrorCode WriteTasks(const TCSweep *sw)
{
  char  path[PETSC_MAX_PATH_LEN + 16];
  FILE *fp;

  PetscFunctionBeginUser;
  snprintf(path, sizeof(path), "%s/tasks.csv", sw->output);
  PetscCall(TCOutputFOpen(PETSC_COMM_SELF, path, &fp));
  fprintf(fp, "task");
  for (PetscInt k = 0; k < sw->nparams; k++) fprintf(fp, ",%s", sw->params[k]);
  fprintf(fp, "\n");
  for (PetscInt i = 0; i < sw->ntasks; i++) {
    fprintf(fp, "%d", (int)i);
    for (PetscInt k = 0; k < sw->nparams; k++) fprintf(fp, ",%s", sw->values[i * sw->nparams + k]);
    fprintf(fp, "\n");
  }
  PetscCall(TCOutputFClose(PETSC_COMM_SELF, path, &fp));
  PetscFunctionReturn(0);
}

/* Gather every task's summary into results.csv, results.h5 and plot.png;
   *nfailed and *nunfinished count the tasks that failed and those that have
   no status yet (not run, running, or killed before they ended). */
static PetscErrorCode SweepGather(const TCSweep *sw, const TCCommand *cmd, const char *sweepfile,
                                  PetscInt *nfailed, PetscInt *nunfinished)
{
  char       path[PETSC_MAX_PATH_LEN + 64], dir[PETSC_MAX_PATH_LEN];
  FILE      *fp;
  double    *out, *par;
  int       *state;
  PetscInt   ndone = 0, nfail = 0, nnum = 0, nlisted = 0;
  PetscBool *numeric;

  PetscFunctionBeginUser;
  PetscCall(PetscMalloc3(sw->ntasks * (sw->nout + 1), &out, sw->ntasks * (sw->nparams + 1), &par,
                         sw->ntasks, &state));
  PetscCall(PetscMalloc1(sw->nparams + 1, &numeric));
  for (PetscInt k = 0; k < sw->nparams; k++) {
    numeric[k] = PETSC_TRUE;
    for (PetscInt i = 0; i < sw->ntasks; i++) {
      char *end;
      par[i * sw->nparams + k] = strtod(sw->values[i * sw->nparams + k], &end);
      if (*end || end == sw->values[i * sw->nparams + k]) numeric[k] = PETSC_FALSE;
    }
    nnum += numeric[k];
  }
  for (PetscInt i = 0; i < sw->ntasks; i++) {
    int code = 0;
    state[i] = TaskState(sw, i, &code);
    for (PetscInt o = 0; o < sw->nout; o++) out[i * sw->nout + o] = NAN;
    if (state[i] == 1) ndone++;
    if (state[i] == -1) {
      char  line[512] = "", buf[512];
      FILE *lf;
      nfail++;
      PetscCall(TaskDir(sw, i, dir, sizeof(dir)));
      snprintf(path, sizeof(path), "%s/log.txt", dir);
      if ((lf = fopen(path, "r"))) {
        PetscBool err = PETSC_FALSE; /* the error line, else the last line */
        while (fgets(buf, sizeof(buf), lf)) {
          PetscBool e = strstr(buf, "error") ? PETSC_TRUE : PETSC_FALSE;
          if ((e || !err) && buf[strspn(buf, " \t\r\n-")])
            PetscCall(PetscStrncpy(line, buf, sizeof(line)));
          err = (PetscBool)(err || e);
        }
        fclose(lf);
      }
      PetscCall(TCPrintf(PETSC_COMM_SELF, "  task %d failed (exit %d): %s%s", (int)i, code,
                         line[0] ? line : "see log.txt\n",
                         line[0] && !strchr(line, '\n') ? "\n" : ""));
    }
    if (state[i] == 0) { /* the first 10 unfinished tasks by number */
      if (nlisted < 10)
        PetscCall(TCPrintf(PETSC_COMM_SELF,
                           "  task %d not finished (no status.json: not run yet, still running, or "
                           "killed before it ended, e.g. at a time limit)\n",
                           (int)i));
      else if (nlisted == 10)
        PetscCall(TCPrintf(PETSC_COMM_SELF, "  ... (more unfinished tasks in results.csv)\n"));
      nlisted++;
    }
    if (state[i] == 1 && cmd->sweep_summary && sw->nout) {
      char *json;
      long  len;
      PetscCall(TaskDir(sw, i, dir, sizeof(dir)));
      snprintf(path, sizeof(path), "%s/%s", dir, cmd->sweep_summary);
      fp = fopen(path, "r");
      if (!fp) continue;
      fseek(fp, 0, SEEK_END);
      len = ftell(fp);
      fseek(fp, 0, SEEK_SET);
      PetscCall(PetscMalloc1(len + 1, &json));
      json[fread(json, 1, (size_t)len, fp)] = 0;
      fclose(fp);
      for (PetscInt o = 0; o < sw->nout; o++) {
        PetscBool found;
        PetscCall(TCJsonLookup(json, sw->outputs[o], &out[i * sw->nout + o], &found));
        if (!found && i == 0)
          PetscCall(TCPrintf(PETSC_COMM_SELF, "  note: %s has no number at '%s'\n", path,
                             sw->outputs[o]));
      }
      PetscCall(PetscFree(json));
    }
  }

  /* results.csv */
  snprintf(path, sizeof(path), "%s/results.csv", sw->output);
  PetscCall(TCOutputFOpen(PETSC_COMM_SELF, path, &fp));
  fprintf(fp, "task,status");
  for (PetscInt k = 0; k < sw->nparams; k++) fprintf(fp, ",%s", sw->params[k]);
  for (PetscInt o = 0; o < sw->nout; o++) fprintf(fp, ",%s", sw->outputs[o]);
  fprintf(fp, "\n");
  for (PetscInt i = 0; i < sw->ntasks; i++) {
    fprintf(fp, "%d,%s", (int)i, state[i] == 1 ? "done" : state[i] ? "failed" : "pending");
    for (PetscInt k = 0; k < sw->nparams; k++) fprintf(fp, ",%s", sw->values[i * sw->nparams + k]);
    for (PetscInt o = 0; o < sw->nout; o++) fprintf(fp, ",%.12g", out[i * sw->nout + o]);
    fprintf(fp, "\n");
  }
  PetscCall(TCOutputFClose(PETSC_COMM_SELF, path, &fp));

  /* results.h5: the numeric columns */
  {
    TCH5    h5;
    char    tmp[PETSC_MAX_PATH_LEN + 64], name[300];
    hsize_t n = (hsize_t)sw->ntasks;
    double *col;
    int    *st;
    snprintf(path, sizeof(path), "%s/results.h5", sw->output);
    PetscCall(TCOutputTempName(PETSC_COMM_SELF, path, tmp, sizeof(tmp)));
    PetscCall(TCH5Create(PETSC_COMM_SELF, tmp, &h5));
    PetscCall(PetscMalloc2(sw->ntasks, &col, sw->ntasks, &st));
    for (PetscInt i = 0; i < sw->ntasks; i++) st[i] = state[i];
    PetscCall(TCH5WriteRows(&h5, "/status", H5T_NATIVE_INT, 1, &n, 0, n, st));
    PetscCall(TCH5WriteAttrString(&h5, "/status", "meaning", "1 done, -1 failed, 0 pending"));
    for (PetscInt k = 0; k < sw->nparams; k++) {
      if (!numeric[k]) continue;
      for (PetscInt i = 0; i < sw->ntasks; i++) col[i] = par[i * sw->nparams + k];
      snprintf(name, sizeof(name), "/parameters/%s", sw->params[k]);
      PetscCall(TCH5WriteRows(&h5, name, H5T_NATIVE_DOUBLE, 1, &n, 0, n, col));
    }
    for (PetscInt o = 0; o < sw->nout; o++) {
      for (PetscInt i = 0; i < sw->ntasks; i++) col[i] = out[i * sw->nout + o];
      snprintf(name, sizeof(name), "/outputs/%s", sw->outputs[o]);
      PetscCall(TCH5WriteRows(&h5, name, H5T_NATIVE_DOUBLE, 1, &n, 0, n, col));
    }
    PetscCall(TCH5WriteAttrString(&h5, "/", "sweep", sweepfile));
    PetscCall(TCH5WriteAttrString(&h5, "/", "tomocell_version", TC_VERSION));
    PetscCall(TCH5Close(&h5));
    PetscCall(TCOutputCommit(PETSC_COMM_SELF, tmp, path));
    PetscCall(PetscFree2(col, st));
  }
  PetscCall(TCPrintf(PETSC_COMM_SELF,
                     "tomocell sweep: gathered %d done, %d failed, %d pending of %d tasks into "
                     "%s/results.csv and results.h5\n",
                     (int)ndone, (int)nfail, (int)(sw->ntasks - ndone - nfail), (int)sw->ntasks,
                     sw->output));
  if (sw->plot_x[0] && sw->plot_y[0] && ndone) {
    char cmdline[4 * PETSC_MAX_PATH_LEN];
    snprintf(cmdline, sizeof(cmdline),
             "/usr/bin/python3 '%s/tools/plot_sweep.py' '%s/results.csv' '%s' '%s' "
             "'%s/plot.png'",
             TC_SOURCE_DIR, sw->output, sw->plot_x, sw->plot_y, sw->output);
    if (system(cmdline) == 0)
      PetscCall(TCPrintf(PETSC_COMM_SELF, "  plot: %s/plot.png (%s against %s)\n", sw->output,
                         sw->plot_y, sw->plot_x));
    else
      PetscCall(TCPrintf(PETSC_COMM_SELF,
                         "  note: no plot (needs /usr/bin/python3 with matplotlib and %s/tools)\n",
                         TC_SOURCE_DIR));
  }
  PetscCall(PetscFree3(out, par, state));
  PetscCall(PetscFree(numeric));
  *nfailed     = nfail;
  *nunfinished = sw->ntasks - ndone - nfail;
  PetscFunctionReturn(0);
}

/* Run a command, capture the first line of its stdout (the job id). */
static PetscErrorCode Capture(const char *cmdline, char *buf, size_t len)
{
  FILE *p = popen(cmdline, "r");

  PetscFunctionBeginUser;
  PetscCheck(p, PETSC_COMM_SELF, PETSC_ERR_SYS, "cannot run %s", cmdline);
  buf[0] = 0;
  if (!fgets(buf, (int)len, p)) buf[0] = 0;
  buf[strcspn(buf, "\r\n;")] = 0;
  PetscCheck(pclose(p) == 0 && buf[0], PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "'%s' failed (is Slurm available here?)", cmdline);
  PetscFunctionReturn(0);
}

static PetscErrorCode SweepSlurm(const TCSweep *sw, const char *sweepfile, const PetscInt *list,
                                 PetscInt n)
{
  char exe[PETSC_MAX_PATH_LEN], absfile[PETSC_MAX_PATH_LEN], cwd[PETSC_MAX_PATH_LEN],
      absout[PETSC_MAX_PATH_LEN];
  char path[PETSC_MAX_PATH_LEN + 32], array[8192] = "", cmdline[16384], job[64] = "", gjob[64];
  const char *sbatch = getenv("SBATCH") ? getenv("SBATCH") : "sbatch";
  const char *extra  = getenv("SBATCH_ARGS") ? getenv("SBATCH_ARGS") : "";
  FILE       *fp;

  PetscFunctionBeginUser;
  PetscCall(SelfExe(exe, sizeof(exe)));
  PetscCheck(getcwd(cwd, sizeof(cwd)), PETSC_COMM_SELF, PETSC_ERR_SYS, "getcwd failed");
  PetscCheck(realpath(sweepfile, absfile), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
             "cannot resolve %s", sweepfile);
  PetscCheck(realpath(sw->output, absout), PETSC_COMM_SELF, PETSC_ERR_FILE_OPEN,
             "cannot resolve %s", sw->output);
  for (PetscInt k = 0; k < n; k++) {
    size_t l = strlen(array);
    PetscCheck(l + 16 < sizeof(array), PETSC_COMM_SELF, PETSC_ERR_SUP,
               "too many unfinished tasks for one --array list");
    snprintf(array + l, sizeof(array) - l, "%s%d", k ? "," : "", (int)list[k]);
  }
  snprintf(path, sizeof(path), "%s/sweep.sbatch", sw->output);
  PetscCall(TCOutputFOpen(PETSC_COMM_SELF, path, &fp));
  fprintf(fp,
          "#!/bin/bash\n# tomocell sweep %s: one array task per sweep task\n"
          "#SBATCH --job-name=tc-%s\n#SBATCH --ntasks=%d\n#SBATCH --time=01:00:00\n"
          "#SBATCH --output=%s/slurm-%%A_%%a.log\n"
          "cd '%s'\nexec '%s' sweep '%s' -task \"$SLURM_ARRAY_TASK_ID\"\n",
          sw->name, sw->name, (int)sw->ranks, absout, cwd, exe, absfile);
  PetscCall(TCOutputFClose(PETSC_COMM_SELF, path, &fp));
  snprintf(path, sizeof(path), "%s/gather.sbatch", sw->output);
  PetscCall(TCOutputFOpen(PETSC_COMM_SELF, path, &fp));
  fprintf(fp,
          "#!/bin/bash\n# tomocell sweep %s: gather when every array task has ended (afterany);\n"
          "# exits 1, listing them, when tasks failed or did not finish\n"
          "#SBATCH --job-name=tc-%s-gather\n#SBATCH --ntasks=1\n#SBATCH --time=00:10:00\n"
          "#SBATCH --output=%s/slurm-gather-%%j.log\n"
          "cd '%s'\nexec '%s' sweep '%s' -gather\n",
          sw->name, sw->name, absout, cwd, exe, absfile);
  PetscCall(TCOutputFClose(PETSC_COMM_SELF, path, &fp));
  if (n) {
    snprintf(cmdline, sizeof(cmdline), "%s --parsable %s --array=%s '%s/sweep.sbatch'", sbatch,
             extra, array, sw->output);
    PetscCall(Capture(cmdline, job, sizeof(job)));
    snprintf(cmdline, sizeof(cmdline),
             "%s --parsable %s --dependency=afterany:%s '%s/gather.sbatch'", sbatch, extra, job,
             sw->output);
  } else
    snprintf(cmdline, sizeof(cmdline), "%s --parsable %s '%s/gather.sbatch'", sbatch, extra,
             sw->output);
  PetscCall(Capture(cmdline, gjob, sizeof(gjob)));
  PetscCall(TCPrintf(PETSC_COMM_SELF,
                     "tomocell sweep: submitted array job %s (%d task(s): %s) and gather job %s "
                     "(afterany: it reports the tasks that failed)\n",
                     n ? job : "-", (int)n, n ? array : "none left", gjob));
  PetscFunctionReturn(0);
}

/* What SweepBody() holds; SweepMain() frees it, also when the run stops on an error. */
typedef struct {
  TCSweep      sw;
  const char **names;   /* the command's key names, for TCSweepLoad */
  PetscInt    *pending; /* the tasks not yet done */
} SweepHeld;

static PetscErrorCode SweepBody(int npos, char **pos, SweepHeld *h)
{
  TCDeck           deck;
  const TCCommand *cmd;
  PetscBool        local = PETSC_FALSE, slurm = PETSC_FALSE, gather = PETSC_FALSE;
  PetscBool        in_process = PETSC_TRUE, worker = PETSC_FALSE;
  PetscInt         task = -1, jobs = 0, *pending, npending = 0, nfailed = 0, nunfinished = 0;
  PetscMPIInt      size;

  PetscFunctionBeginUser;
  PetscCallMPI(MPI_Comm_size(PETSC_COMM_WORLD, &size));
  PetscCheck(size == 1, PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT,
             "tomocell sweep runs on one rank; tasks get their own ranks from sweep: ranks");
  PetscCall(TCDeckCreate(PETSC_COMM_WORLD, "sweep", sweep_keys, sweep_nkeys, &deck));
  PetscCall(TCDeckLoad(deck, NULL));
  PetscCall(TCDeckGetBool(deck, "local", &local));
  PetscCall(TCDeckGetBool(deck, "slurm", &slurm));
  PetscCall(TCDeckGetBool(deck, "gather", &gather));
  PetscCall(TCDeckGetInt(deck, "task", &task));
  PetscCall(TCDeckGetInt(deck, "jobs", &jobs));
  PetscCall(TCDeckGetBool(deck, "in_process", &in_process));
  PetscCall(TCDeckGetBool(deck, "worker", &worker));
  PetscCall(TCDeckDestroy(&deck));
  PetscCheck(local + slurm + gather + (task >= 0) <= 1, PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT,
             "give at most one of -local, -slurm, -gather, -task");

  /* the command (and so the keys a parameter may name) comes from the file */
  {
    char name[64];
    PetscCall(TCSweepPeekCommand(PETSC_COMM_WORLD, pos[0], name, sizeof(name)));
    cmd = TCCommandFind(name);
    PetscCheck(cmd && cmd->nkeys > 0, PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT,
               "%s: sweep: command '%s' is not a tomocell command with deck keys (run, "
               "tortuosity, microstructure, ...)",
               pos[0], name);
  }
  PetscCall(PetscMalloc1(cmd->nkeys, &h->names));
  for (PetscInt k = 0; k < cmd->nkeys; k++) h->names[k] = cmd->keys[k].name;
  PetscCall(TCSweepLoad(PETSC_COMM_WORLD, pos[0], h->names, cmd->nkeys, &h->sw));
  PetscCall(PetscFree(h->names));
  PetscCheck(cmd->min_pos == 0 || h->sw.input[0], PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT,
             "%s: tomocell %s needs sweep: input (its %s)", pos[0], cmd->name, cmd->usage);
  if (worker) {
    PetscCall(SweepWorker(&h->sw, cmd));
    PetscCall(TCSweepFree(&h->sw));
    PetscFunctionReturn(0);
  }
  /* a task number out of range fails before anything is written */
  PetscCheck(task < h->sw.ntasks, PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT,
             "-task %d: the sweep has tasks 0..%d", (int)task, (int)h->sw.ntasks - 1);
  PetscCall(TCOutputPrepareDir(PETSC_COMM_WORLD, h->sw.output));
  /* array tasks (-task N) run at the same time in one sweep directory, each in its task_N/
     (which the task's command locks); every other mode is one process */
  if (task < 0) PetscCall(TCOutputLockDir(PETSC_COMM_WORLD, h->sw.output));
  /* the sweep's report stays, also when tasks failed (exit 1); a failed Slurm submission
     leaves nothing (what it wrote is removed) */
  if (!slurm) TCOutputKeepAll();
  PetscCall(WriteTasks(&h->sw));

  PetscCall(PetscMalloc1(h->sw.ntasks, &h->pending));
  pending = h->pending;
  for (PetscInt i = 0; i < h->sw.ntasks; i++) {
    int code;
    if (TaskState(&h->sw, i, &code) != 1) pending[npending++] = i;
  }
  if (task >= 0) {
    PetscCall(SweepRun(&h->sw, cmd, &task, 1, 1, &nfailed));
  } else if (local) {
    if (jobs <= 0) jobs = PetscMax(1, (PetscInt)sysconf(_SC_NPROCESSORS_ONLN) / h->sw.ranks);
    PetscCall(TCPrintf(PETSC_COMM_SELF,
                       "tomocell sweep %s: %d task(s) of tomocell %s, %d to run (%d done), %d at a "
                       "time, in %s/\n",
                       pos[0], (int)h->sw.ntasks, cmd->name, (int)npending,
                       (int)(h->sw.ntasks - npending), (int)jobs, h->sw.output));
    if (in_process && h->sw.ranks == 1)
      PetscCall(SweepRunWorkers(&h->sw, pos[0], pending, npending, jobs, &nfailed));
    else
      PetscCall(SweepRun(&h->sw, cmd, pending, npending, jobs, &nfailed));
    PetscCall(SweepGather(&h->sw, cmd, pos[0], &nfailed, &nunfinished));
  } else if (slurm)
    PetscCall(SweepSlurm(&h->sw, pos[0], pending, npending));
  else if (gather) {
    /* the failure check of the gather job (it starts afterany: also when tasks
       failed, which an afterok gather would wait for forever) */
    PetscCall(SweepGather(&h->sw, cmd, pos[0], &nfailed, &nunfinished));
    PetscCheck(!nfailed && !nunfinished, PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT,
               "%s: %d of %d task(s) failed and %d not finished; the reasons are listed above, "
               "their logs in the task directories (run the sweep again to retry them)",
               pos[0], (int)nfailed, (int)h->sw.ntasks, (int)nunfinished);
  }
  else {
    PetscCall(TCPrintf(PETSC_COMM_SELF, "tomocell sweep %s: %d task(s) of tomocell %s (%d done):\n",
                       pos[0], (int)h->sw.ntasks, cmd->name, (int)(h->sw.ntasks - npending)));
    for (PetscInt i = 0; i < PetscMin(h->sw.ntasks, 20); i++) {
      char line[2048] = "";
      for (PetscInt k = 0; k < h->sw.nparams; k++)
        snprintf(line + strlen(line), sizeof(line) - strlen(line), " -%s %s", h->sw.params[k],
                 h->sw.values[i * h->sw.nparams + k]);
      PetscCall(TCPrintf(PETSC_COMM_SELF, "  %4d%s\n", (int)i, line));
    }
    if (h->sw.ntasks > 20) PetscCall(TCPrintf(PETSC_COMM_SELF, "  ...\n"));
    PetscCall(TCPrintf(PETSC_COMM_SELF,
                       "wrote %s/tasks.csv; run with -local, -slurm, -task N or -gather\n",
                       h->sw.output));
  }
  PetscCall(PetscFree(h->pending));
  PetscCall(TCSweepFree(&h->sw));
  PetscCheck(!nfailed, PETSC_COMM_WORLD, PETSC_ERR_USER_INPUT,
             "%d task(s) failed; their logs are in the task directories (run again to retry them)",
             (int)nfailed);
  (void)nunfinished;
  PetscFunctionReturn(0);
}

static PetscErrorCode SweepMain(int npos, char **pos)
{
  SweepHeld      h;
  PetscErrorCode ierr;

  /* not PetscCall: the error was reported where it arose; free, then pass it on */
  PetscMemzero(&h, sizeof(h));
  ierr = SweepBody(npos, pos, &h);
  (void)TCSweepFree(&h.sw);
  (void)PetscFree(h.names);
  (void)PetscFree(h.pending);
  return ierr;
}

const TCCommand TCCommandSweep = {
    "sweep",
    "parameter sweeps over deck keys: run here, as a Slurm job array, and gather",
    "tomocell sweep SWEEP.yaml [-local | -slurm | -gather | -task N]",
    SweepHelp,
    SweepMain,
    1,
    1,
    sweep_keys,
    0, /* a sweep cannot sweep sweeps */
    NULL,
    NULL};
