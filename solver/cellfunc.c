/*
 * Parameter functions (see cellfunc.h). Expressions compile by recursive
 * descent to postfix code; evaluation runs a stack of dual numbers (value,
 * derivative in x), the textbook forward-mode automatic differentiation
 * (Griewank & Walther, "Evaluating Derivatives", 2nd ed., SIAM 2008, ch. 3).
 */
#include "solver/cellfunc.h"
#include "solver/band.h" /* TC_VECTOR_CLONES */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>

typedef enum {
  OP_CONST,
  OP_X,
  OP_T,
  OP_ADD,
  OP_SUB,
  OP_MUL,
  OP_DIV,
  OP_POW,
  OP_NEG,
  OP_EXP,
  OP_LOG,
  OP_SQRT,
  OP_TANH,
  OP_SINH,
  OP_COSH,
  OP_ABS,
  OP_ADDK, /* binary ops with a constant right operand (peephole) */
  OP_MULK,
  OP_POWK
} TCOp;

typedef enum { FUNC_CONST, FUNC_EXPR, FUNC_TABLE } TCFuncKind;

#define TC_FUNC_MAXCODE  512
#define TC_FUNC_MAXSTACK 64

struct _p_TCFunc {
  TCFuncKind kind;
  PetscReal  c;
  /* expression */
  int       ncode, maxdepth;
  TCOp      op[TC_FUNC_MAXCODE];
  PetscReal k[TC_FUNC_MAXCODE];
  PetscBool usesT;
  /* table */
  PetscInt   n;
  PetscReal *x, *y;
  /* cubic Hermite tabulation of an expression (TCFuncTabulate) */
  PetscInt  nt;
  PetscReal t0, t1, ih, h, *tv, *td;
};

typedef struct {
  const char *s, *p;
  TCFunc      f;
  int         depth, maxdepth;
  int         nest; /* recursion depth of the parser (parentheses, signs, powers) */
  const char *err, *errat;
} TCParser;

/* deeper expressions are not parameter functions, and would overflow the C stack */
#define TC_FUNC_MAXNEST 200

static PetscReal Fold(TCOp op, PetscReal a, PetscReal b)
{
  switch (op) {
  case OP_ADD:
    return a + b;
  case OP_SUB:
    return a - b;
  case OP_MUL:
    return a * b;
  case OP_DIV:
    return a / b;
  case OP_POW:
    return pow(a, b);
  case OP_NEG:
    return -b;
  case OP_EXP:
    return exp(b);
  case OP_LOG:
    return log(b);
  case OP_SQRT:
    return sqrt(b);
  case OP_TANH:
    return tanh(b);
  case OP_SINH:
    return sinh(b);
  case OP_COSH:
    return cosh(b);
  case OP_ABS:
    return fabs(b);
  default:
    return 0;
  }
}

static int Emit(TCParser *ps, TCOp op, PetscReal k, int stackdelta)
{
  TCFunc f = ps->f;
  int    n = f->ncode;
  /* peephole: fold constants, and turn "push constant; binary op" into one
     op with the constant attached (a constant as the last instruction is a
     complete operand, so the op's right operand is exactly that constant) */
  if (op != OP_CONST && op != OP_X && op != OP_T && n >= 1 && f->op[n - 1] == OP_CONST) {
    PetscBool binary = (PetscBool)(stackdelta == -1);
    if (!binary) {
      f->k[n - 1] = Fold(op, 0, f->k[n - 1]);
      return 0;
    }
    if (n >= 2 && f->op[n - 2] == OP_CONST) {
      f->k[n - 2] = Fold(op, f->k[n - 2], f->k[n - 1]);
      f->ncode--;
      ps->depth--;
      return 0;
    }
    if (op == OP_ADD || op == OP_SUB || op == OP_MUL || op == OP_DIV || op == OP_POW) {
      PetscReal c  = f->k[n - 1];
      f->op[n - 1] = op == OP_ADD || op == OP_SUB ? OP_ADDK : (op == OP_POW ? OP_POWK : OP_MULK);
      f->k[n - 1]  = op == OP_SUB ? -c : (op == OP_DIV ? 1.0 / c : c);
      ps->depth--;
      return 0;
    }
  }
  if (ps->f->ncode >= TC_FUNC_MAXCODE) {
    ps->err   = "expression too long";
    ps->errat = ps->p;
    return 1;
  }
  ps->f->op[ps->f->ncode] = op;
  ps->f->k[ps->f->ncode]  = k;
  ps->f->ncode++;
  ps->depth += stackdelta;
  if (ps->depth > ps->maxdepth) ps->maxdepth = ps->depth;
  if (ps->depth > TC_FUNC_MAXSTACK) {
    ps->err   = "expression nested too deeply";
    ps->errat = ps->p;
    return 1;
  }
  return 0;
}

static void Skip(TCParser *ps)
{
  while (*ps->p == ' ' || *ps->p == '\t') ps->p++;
}

static int Fail(TCParser *ps, const char *msg)
{
  ps->err   = msg;
  ps->errat = ps->p;
  return 1;
}

static int ParseSum(TCParser *ps);
static int ParseUnary(TCParser *ps);

static int ParseAtom(TCParser *ps)
{
  Skip(ps);
  if (*ps->p == '(') {
    ps->p++;
    if (ParseSum(ps)) return 1;
    Skip(ps);
    if (*ps->p != ')') return Fail(ps, "expected ')'");
    ps->p++;
    return 0;
  }
  if (isdigit((unsigned char)*ps->p) || *ps->p == '.') {
    char  *end;
    double v = strtod(ps->p, &end);
    if (end == ps->p) return Fail(ps, "bad number");
    ps->p = end;
    return Emit(ps, OP_CONST, v, 1);
  }
  if (isalpha((unsigned char)*ps->p) || *ps->p == '_') {
    static const struct {
      const char *name;
      TCOp        op;
    } fn[]            = {{"exp", OP_EXP},   {"log", OP_LOG},   {"sqrt", OP_SQRT}, {"tanh", OP_TANH},
                         {"sinh", OP_SINH}, {"cosh", OP_COSH}, {"abs", OP_ABS}};
    const char *start = ps->p;
    size_t      len;
    if (!strncmp(ps->p, "np.", 3) || !strncmp(ps->p, "numpy.", 6))
      ps->p += ps->p[0] == 'n' && ps->p[1] == 'p' && ps->p[2] == '.' ? 3 : 6;
    start = ps->p;
    while (isalnum((unsigned char)*ps->p) || *ps->p == '_') ps->p++;
    len = (size_t)(ps->p - start);
    if (len == 1 && start[0] == 'x') return Emit(ps, OP_X, 0, 1);
    if (len == 1 && start[0] == 'T') {
      ps->f->usesT = PETSC_TRUE;
      return Emit(ps, OP_T, 0, 1);
    }
    for (size_t i = 0; i < sizeof(fn) / sizeof(fn[0]); i++)
      if (strlen(fn[i].name) == len && !strncmp(fn[i].name, start, len)) {
        Skip(ps);
        if (*ps->p != '(') return Fail(ps, "expected '(' after a function name");
        ps->p++;
        if (ParseSum(ps)) return 1;
        Skip(ps);
        if (*ps->p != ')') return Fail(ps, "expected ')' to close the function argument");
        ps->p++;
        return Emit(ps, fn[i].op, 0, 0);
      }
    ps->p = start;
    return Fail(ps, "unknown name (variables: x, T; functions: exp, log, sqrt, tanh, sinh, "
                    "cosh, abs)");
  }
  if (!*ps->p) return Fail(ps, "unexpected end of expression");
  return Fail(ps, "expected a number, a variable, a function or '('");
}

static int ParsePower(TCParser *ps)
{
  if (ParseAtom(ps)) return 1;
  Skip(ps);
  if (ps->p[0] == '*' && ps->p[1] == '*') {
    ps->p += 2;
    if (ParseUnary(ps))
      return 1; /* right-associative, binds tighter than unary minus on the left */
    return Emit(ps, OP_POW, 0, -1);
  }
  return 0;
}

static int ParseUnary_(TCParser *ps);

static int ParseUnary(TCParser *ps)
{
  int r;
  if (++ps->nest > TC_FUNC_MAXNEST) return Fail(ps, "nested more than 200 levels deep");
  r = ParseUnary_(ps);
  ps->nest--;
  return r;
}

static int ParseUnary_(TCParser *ps)
{
  Skip(ps);
  if (*ps->p == '-') {
    ps->p++;
    if (ParseUnary(ps)) return 1;
    return Emit(ps, OP_NEG, 0, 0);
  }
  if (*ps->p == '+') {
    ps->p++;
    return ParseUnary(ps);
  }
  return ParsePower(ps);
}

static int ParseProduct(TCParser *ps)
{
  if (ParseUnary(ps)) return 1;
  for (;;) {
    Skip(ps);
    if (ps->p[0] == '*' && ps->p[1] != '*') {
      ps->p++;
      if (ParseUnary(ps) || Emit(ps, OP_MUL, 0, -1)) return 1;
    } else if (ps->p[0] == '/') {
      ps->p++;
      if (ParseUnary(ps) || Emit(ps, OP_DIV, 0, -1)) return 1;
    } else
      return 0;
  }
}

static int ParseSum(TCParser *ps)
{
  if (ParseProduct(ps)) return 1;
  for (;;) {
    Skip(ps);
    if (*ps->p == '+') {
      ps->p++;
      if (ParseProduct(ps) || Emit(ps, OP_ADD, 0, -1)) return 1;
    } else if (*ps->p == '-') {
      ps->p++;
      if (ParseProduct(ps) || Emit(ps, OP_SUB, 0, -1)) return 1;
    } else
      return 0;
  }
}

PetscErrorCode TCFuncCreateExpression(const char expr[], const char what[], TCFunc *f)
{
  TCParser ps;
  int      bad;

  PetscFunctionBeginUser;
  PetscCall(PetscNew(f));
  (*f)->kind = FUNC_EXPR;
  PetscCall(PetscMemzero(&ps, sizeof(ps)));
  ps.s = ps.p = expr;
  ps.f        = *f;
  bad         = ParseSum(&ps);
  if (!bad) {
    Skip(&ps);
    if (*ps.p) bad = Fail(&ps, "unexpected text after the expression");
  }
  if (bad) {
    int col = (int)(ps.errat - expr) + 1;
    PetscCall(PetscFree(*f));
    SETERRQ(PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
            "%s: cannot read expression \"%.80s%s\" at column %d (at \"%.12s\"): %s", what, expr,
            strlen(expr) > 80 ? "..." : "", col, ps.errat, ps.err);
  }
  (*f)->maxdepth = ps.maxdepth;
  PetscFunctionReturn(0);
}

PetscErrorCode TCFuncCreateConstant(PetscReal value, TCFunc *f)
{
  PetscFunctionBeginUser;
  PetscCall(PetscNew(f));
  (*f)->kind = FUNC_CONST;
  (*f)->c    = value;
  PetscFunctionReturn(0);
}

PetscErrorCode TCFuncCreateTable(PetscInt n, const PetscReal x[], const PetscReal y[],
                                 const char what[], TCFunc *f)
{
  PetscFunctionBeginUser;
  PetscCheck(n >= 2, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
             "%s: a table needs at least 2 points, got %" PetscInt_FMT, what, n);
  for (PetscInt i = 0; i < n; i++) {
    PetscCheck(PetscIsNormalReal(x[i]) || x[i] == 0, PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: table x[%" PetscInt_FMT "] is not finite", what, i);
    PetscCheck(i == 0 || x[i] > x[i - 1], PETSC_COMM_SELF, PETSC_ERR_USER_INPUT,
               "%s: table x must increase strictly, but x[%" PetscInt_FMT
               "] = %g <= x[%" PetscInt_FMT "] = %g",
               what, i, (double)x[i], i - 1, (double)x[i - 1]);
  }
  PetscCall(PetscNew(f));
  (*f)->kind = FUNC_TABLE;
  (*f)->n    = n;
  PetscCall(PetscMalloc2(n, &(*f)->x, n, &(*f)->y));
  PetscCall(PetscArraycpy((*f)->x, x, n));
  PetscCall(PetscArraycpy((*f)->y, y, n));
  PetscFunctionReturn(0);
}

PetscErrorCode TCFuncTabulate(TCFunc f, PetscReal x0, PetscReal x1, PetscInt n, PetscBool *done)
{
  PetscReal *v, *d;

  PetscFunctionBeginUser;
  *done = PETSC_FALSE;
  if (f->kind != FUNC_EXPR || f->usesT || f->nt || n < 2 || !(x1 > x0)) PetscFunctionReturn(0);
  PetscCall(PetscMalloc2(n, &v, n, &d));
  for (PetscInt i = 0; i < n; i++) {
    v[i] = TCFuncEval(f, x0 + (x1 - x0) * i / (n - 1), 0, &d[i]);
    if (!isfinite(v[i]) || !isfinite(d[i])) { /* singular in the range: keep the expression */
      PetscCall(PetscFree2(v, d));
      PetscFunctionReturn(0);
    }
  }
  f->t0 = x0;
  f->t1 = x1;
  f->h  = (x1 - x0) / (n - 1);
  f->ih = 1.0 / f->h;
  f->tv = v;
  f->td = d;
  f->nt = n;
  *done = PETSC_TRUE;
  PetscFunctionReturn(0);
}

PetscErrorCode TCFuncDestroy(TCFunc *f)
{
  PetscFunctionBeginUser;
  if (!*f) PetscFunctionReturn(0);
  if ((*f)->nt) PetscCall(PetscFree2((*f)->tv, (*f)->td));
  if ((*f)->kind == FUNC_TABLE) PetscCall(PetscFree2((*f)->x, (*f)->y));
  PetscCall(PetscFree(*f));
  PetscFunctionReturn(0);
}

PetscBool TCFuncIsConstant(TCFunc f)
{
  return f->kind == FUNC_CONST ? PETSC_TRUE : PETSC_FALSE;
}

PetscBool TCFuncUsesT(TCFunc f)
{
  return f->usesT;
}

PetscReal TCFuncEval(TCFunc f, PetscReal x, PetscReal T_K, PetscReal *dfdx)
{
  PetscReal v[TC_FUNC_MAXSTACK], d[TC_FUNC_MAXSTACK];
  int       sp = -1;

  if (f->kind == FUNC_CONST) {
    if (dfdx) *dfdx = 0;
    return f->c;
  }
  if (f->nt && x >= f->t0 && x <= f->t1) {
    /* cubic Hermite on the tabulation: value and its exact derivative */
    PetscReal s = (x - f->t0) * f->ih, t, t2, t3, h00, h10, h01, h11;
    PetscInt  i = (PetscInt)s;
    if (i >= f->nt - 1) i = f->nt - 2;
    t   = s - i;
    t2  = t * t;
    t3  = t2 * t;
    h00 = 2 * t3 - 3 * t2 + 1;
    h10 = t3 - 2 * t2 + t;
    h01 = -2 * t3 + 3 * t2;
    h11 = t3 - t2;
    if (dfdx)
      *dfdx = ((6 * t2 - 6 * t) * (f->tv[i] - f->tv[i + 1])) * f->ih +
              (3 * t2 - 4 * t + 1) * f->td[i] + (3 * t2 - 2 * t) * f->td[i + 1];
    return h00 * f->tv[i] + h10 * f->h * f->td[i] + h01 * f->tv[i + 1] + h11 * f->h * f->td[i + 1];
  }
  if (f->kind == FUNC_TABLE) {
    PetscInt lo = 0, hi = f->n - 1;
    if (x <= f->x[0] || x >= f->x[hi]) {
      if (dfdx) *dfdx = 0;
      return x <= f->x[0] ? f->y[0] : f->y[hi];
    }
    while (hi - lo > 1) {
      PetscInt mid = (lo + hi) / 2;
      if (f->x[mid] <= x)
        lo = mid;
      else
        hi = mid;
    }
    {
      PetscReal s = (f->y[hi] - f->y[lo]) / (f->x[hi] - f->x[lo]);
      if (dfdx) *dfdx = s;
      return f->y[lo] + s * (x - f->x[lo]);
    }
  }
  for (int i = 0; i < f->ncode; i++) {
    PetscReal a, b, da, db, e;
    switch (f->op[i]) {
    case OP_CONST:
      v[++sp] = f->k[i];
      d[sp]   = 0;
      break;
    case OP_X:
      v[++sp] = x;
      d[sp]   = 1;
      break;
    case OP_T:
      v[++sp] = T_K;
      d[sp]   = 0;
      break;
    case OP_ADD:
      sp--;
      v[sp] += v[sp + 1];
      d[sp] += d[sp + 1];
      break;
    case OP_SUB:
      sp--;
      v[sp] -= v[sp + 1];
      d[sp] -= d[sp + 1];
      break;
    case OP_MUL:
      sp--;
      d[sp] = d[sp] * v[sp + 1] + v[sp] * d[sp + 1];
      v[sp] *= v[sp + 1];
      break;
    case OP_DIV:
      sp--;
      a     = v[sp];
      b     = v[sp + 1];
      v[sp] = a / b;
      d[sp] = (d[sp] - v[sp] * d[sp + 1]) / b;
      break;
    case OP_POW:
      sp--;
      a  = v[sp];
      b  = v[sp + 1];
      da = d[sp];
      db = d[sp + 1];
      if (db == 0 && (b == 2 || b == 3 || b == 1.5 || b == 0.5)) {
        /* the common exponents of fitted electrolyte and OCP functions, without pow() */
        PetscReal sq = (b == 1.5 || b == 0.5) ? sqrt(a) : 0;
        if (b == 2)
          e = a * a, d[sp] = 2 * a * da;
        else if (b == 3)
          e = a * a * a, d[sp] = 3 * a * a * da;
        else if (b == 1.5)
          e = a * sq, d[sp] = 1.5 * sq * da;
        else
          e = sq, d[sp] = 0.5 / sq * da;
        v[sp] = e;
        break;
      }
      e = pow(a, b);
      /* d(a^b) = b a^(b-1) da + a^b log(a) db; the log term only when b varies */
      d[sp] = (da != 0 ? b * pow(a, b - 1) * da : 0) + (db != 0 ? e * log(a) * db : 0);
      v[sp] = e;
      break;
    case OP_NEG:
      v[sp] = -v[sp];
      d[sp] = -d[sp];
      break;
    case OP_EXP:
      v[sp] = exp(v[sp]);
      d[sp] *= v[sp];
      break;
    case OP_LOG:
      d[sp] /= v[sp];
      v[sp] = log(v[sp]);
      break;
    case OP_SQRT:
      v[sp] = sqrt(v[sp]);
      d[sp] *= 0.5 / v[sp];
      break;
    case OP_TANH:
      v[sp] = tanh(v[sp]);
      d[sp] *= 1 - v[sp] * v[sp];
      break;
    case OP_SINH:
      a     = v[sp];
      v[sp] = sinh(a);
      d[sp] *= cosh(a);
      break;
    case OP_COSH:
      a     = v[sp];
      v[sp] = cosh(a);
      d[sp] *= sinh(a);
      break;
    case OP_ADDK:
      v[sp] += f->k[i];
      break;
    case OP_MULK:
      v[sp] *= f->k[i];
      d[sp] *= f->k[i];
      break;
    case OP_POWK:
      a = v[sp];
      b = f->k[i];
      if (b == 2)
        v[sp] = a * a, d[sp] *= 2 * a;
      else if (b == 3)
        v[sp] = a * a * a, d[sp] *= 3 * a * a;
      else if (b == 1.5) {
        e     = sqrt(a);
        v[sp] = a * e;
        d[sp] *= 1.5 * e;
      } else if (b == 0.5) {
        e     = sqrt(a);
        v[sp] = e;
        d[sp] *= 0.5 / e;
      } else {
        e     = pow(a, b);
        d[sp] = d[sp] != 0 ? b * pow(a, b - 1) * d[sp] : 0;
        v[sp] = e;
      }
      break;
    case OP_ABS:
      if (v[sp] < 0) {
        v[sp] = -v[sp];
        d[sp] = -d[sp];
      }
      break;
    }
  }
  if (dfdx) *dfdx = d[0];
  return v[0];
}

/* lanes of the batched stack machine per pass */
#define TC_FUNC_LANES 64

/* the stack program at m <= TC_FUNC_LANES points, every point as in TCFuncEval */
TC_VECTOR_CLONES static void ExprEvalLanes(TCFunc f, PetscInt m, const PetscReal x[],
                                           const PetscReal T_K[], PetscReal out[], PetscReal dout[])
{
  PetscReal vs[TC_FUNC_MAXSTACK][TC_FUNC_LANES], ds[TC_FUNC_MAXSTACK][TC_FUNC_LANES];
  int       sp = -1;

  for (int i = 0; i < f->ncode; i++) {
    PetscReal *v = vs[sp < 0 ? 0 : sp], *d = ds[sp < 0 ? 0 : sp];
    PetscReal *v1 = sp >= 1 ? vs[sp - 1] : NULL, *d1 = sp >= 1 ? ds[sp - 1] : NULL;
    PetscReal  k = f->k[i];
    switch (f->op[i]) {
    case OP_CONST:
      sp++;
      for (PetscInt b = 0; b < m; b++) vs[sp][b] = k, ds[sp][b] = 0;
      break;
    case OP_X:
      sp++;
      for (PetscInt b = 0; b < m; b++) vs[sp][b] = x[b], ds[sp][b] = 1;
      break;
    case OP_T:
      sp++;
      for (PetscInt b = 0; b < m; b++) vs[sp][b] = T_K[b], ds[sp][b] = 0;
      break;
    case OP_ADD:
      for (PetscInt b = 0; b < m; b++) v1[b] += v[b], d1[b] += d[b];
      sp--;
      break;
    case OP_SUB:
      for (PetscInt b = 0; b < m; b++) v1[b] -= v[b], d1[b] -= d[b];
      sp--;
      break;
    case OP_MUL:
      for (PetscInt b = 0; b < m; b++) {
        d1[b] = d1[b] * v[b] + v1[b] * d[b];
        v1[b] *= v[b];
      }
      sp--;
      break;
    case OP_DIV:
      for (PetscInt b = 0; b < m; b++) {
        PetscReal a = v1[b], c = v[b];
        v1[b] = a / c;
        d1[b] = (d1[b] - v1[b] * d[b]) / c;
      }
      sp--;
      break;
    case OP_POW:
      for (PetscInt b = 0; b < m; b++) {
        PetscReal a = v1[b], c = v[b], da = d1[b], db = d[b], e;
        if (db == 0 && (c == 2 || c == 3 || c == 1.5 || c == 0.5)) {
          PetscReal sq = (c == 1.5 || c == 0.5) ? sqrt(a) : 0;
          if (c == 2)
            e = a * a, d1[b] = 2 * a * da;
          else if (c == 3)
            e = a * a * a, d1[b] = 3 * a * a * da;
          else if (c == 1.5)
            e = a * sq, d1[b] = 1.5 * sq * da;
          else
            e = sq, d1[b] = 0.5 / sq * da;
          v1[b] = e;
          continue;
        }
        e     = pow(a, c);
        d1[b] = (da != 0 ? c * pow(a, c - 1) * da : 0) + (db != 0 ? e * log(a) * db : 0);
        v1[b] = e;
      }
      sp--;
      break;
    case OP_NEG:
      for (PetscInt b = 0; b < m; b++) v[b] = -v[b], d[b] = -d[b];
      break;
    case OP_EXP:
      for (PetscInt b = 0; b < m; b++) {
        v[b] = exp(v[b]);
        d[b] *= v[b];
      }
      break;
    case OP_LOG:
      for (PetscInt b = 0; b < m; b++) {
        d[b] /= v[b];
        v[b] = log(v[b]);
      }
      break;
    case OP_SQRT:
      for (PetscInt b = 0; b < m; b++) {
        v[b] = sqrt(v[b]);
        d[b] *= 0.5 / v[b];
      }
      break;
    case OP_TANH:
      for (PetscInt b = 0; b < m; b++) {
        v[b] = tanh(v[b]);
        d[b] *= 1 - v[b] * v[b];
      }
      break;
    case OP_SINH:
      for (PetscInt b = 0; b < m; b++) {
        PetscReal a = v[b];
        v[b]        = sinh(a);
        d[b] *= cosh(a);
      }
      break;
    case OP_COSH:
      for (PetscInt b = 0; b < m; b++) {
        PetscReal a = v[b];
        v[b]        = cosh(a);
        d[b] *= sinh(a);
      }
      break;
    case OP_ADDK:
      for (PetscInt b = 0; b < m; b++) v[b] += k;
      break;
    case OP_MULK:
      for (PetscInt b = 0; b < m; b++) v[b] *= k, d[b] *= k;
      break;
    case OP_POWK:
      if (k == 2)
        for (PetscInt b = 0; b < m; b++) {
          PetscReal a = v[b];
          v[b]        = a * a;
          d[b] *= 2 * a;
        }
      else if (k == 3)
        for (PetscInt b = 0; b < m; b++) {
          PetscReal a = v[b];
          v[b]        = a * a * a;
          d[b] *= 3 * a * a;
        }
      else if (k == 1.5)
        for (PetscInt b = 0; b < m; b++) {
          PetscReal a = v[b], e = sqrt(a);
          v[b] = a * e;
          d[b] *= 1.5 * e;
        }
      else if (k == 0.5)
        for (PetscInt b = 0; b < m; b++) {
          PetscReal e = sqrt(v[b]);
          v[b]        = e;
          d[b] *= 0.5 / e;
        }
      else
        for (PetscInt b = 0; b < m; b++) {
          PetscReal a = v[b], e = pow(a, k);
          d[b] = d[b] != 0 ? k * pow(a, k - 1) * d[b] : 0;
          v[b] = e;
        }
      break;
    case OP_ABS:
      for (PetscInt b = 0; b < m; b++) {
        PetscBool neg = (PetscBool)(v[b] < 0);
        v[b]          = neg ? -v[b] : v[b];
        d[b]          = neg ? -d[b] : d[b];
      }
      break;
    }
  }
  for (PetscInt b = 0; b < m; b++) out[b] = vs[0][b], dout[b] = ds[0][b];
}

/* TCFuncEval's cubic Hermite interpolation at n points without branches (a
   point outside the tabulated range gets the value at its start: the caller
   replaces it), so that the loop vectorises with gathers; the arrays are
   restrict parameters because GCC ignores restrict on local pointers */
static inline __attribute__((always_inline)) void
HermiteKernel(PetscInt n, PetscInt imax, PetscReal t0, PetscReal t1, PetscReal ih, PetscReal h,
              const PetscReal *restrict tv, const PetscReal *restrict td,
              const PetscReal *restrict x, PetscReal *restrict v, PetscReal *restrict dv)
{
  for (PetscInt b = 0; b < n; b++) {
    PetscReal xb = x[b], s, t, t2, t3, h00, h10, h01, h11;
    PetscInt  i;
    xb    = (xb >= t0) & (xb <= t1) ? xb : t0;
    s     = (xb - t0) * ih;
    i     = (PetscInt)s;
    i     = i >= imax + 1 ? imax : i;
    t     = s - i;
    t2    = t * t;
    t3    = t2 * t;
    h00   = 2 * t3 - 3 * t2 + 1;
    h10   = t3 - 2 * t2 + t;
    h01   = -2 * t3 + 3 * t2;
    h11   = t3 - t2;
    dv[b] = ((6 * t2 - 6 * t) * (tv[i] - tv[i + 1])) * ih + (3 * t2 - 4 * t + 1) * td[i] +
            (3 * t2 - 2 * t) * td[i + 1];
    v[b] = h00 * tv[i] + h10 * h * td[i] + h01 * tv[i + 1] + h11 * h * td[i + 1];
  }
}

TC_VECTOR_CLONES static void HermiteLanes(TCFunc f, PetscInt n, const PetscReal x[], PetscReal v[],
                                          PetscReal dv[])
{
  HermiteKernel(n, f->nt - 2, f->t0, f->t1, f->ih, f->h, f->tv, f->td, x, v, dv);
}

void TCFuncEvalBatch(TCFunc f, PetscInt n, const PetscReal x[], const PetscReal T_K[],
                     PetscReal v[], PetscReal dv[])
{
  if (f->nt) {
    HermiteLanes(f, n, x, v, dv);
    for (PetscInt b = 0; b < n; b++) /* outside the tabulation: the expression */
      if (!(x[b] >= f->t0 && x[b] <= f->t1)) v[b] = TCFuncEval(f, x[b], T_K[b], &dv[b]);
    return;
  }
  if (f->kind != FUNC_EXPR) { /* constants, tables: no dispatch to save */
    for (PetscInt b = 0; b < n; b++) v[b] = TCFuncEval(f, x[b], T_K[b], &dv[b]);
    return;
  }
  for (PetscInt b0 = 0; b0 < n; b0 += TC_FUNC_LANES)
    ExprEvalLanes(f, PetscMin(TC_FUNC_LANES, n - b0), x + b0, T_K + b0, v + b0, dv + b0);
}
