/*
 * Functions of one state variable (and temperature) for parameter sets:
 * a constant, a closed-form expression in Python syntax as BPX writes them
 * ("1.9793 * exp(-39.3631 * x) + 0.2482 - ..."), or a table {x: [...],
 * y: [...]} interpolated linearly (held constant outside). Expressions are
 * compiled once to a small stack program and evaluated with forward-mode
 * differentiation, so every function also gives its exact derivative d/dx,
 * which the cell models' analytic Jacobians need.
 *
 * Expression grammar: + - * / ** (right-associative), unary minus,
 * parentheses, numbers, the variables x and T (temperature, K), and exp, log,
 * sqrt, tanh, sinh, cosh, abs (a leading "np." is accepted).
 */
#pragma once
#include <petscsys.h>

typedef struct _p_TCFunc *TCFunc;

/* Parse an expression; errors (PETSC_ERR_USER_INPUT) quote it, give the
   position (1-based column) and say what was expected; what[] names the
   parameter in the message. */
PETSC_EXTERN PetscErrorCode TCFuncCreateExpression(const char expr[], const char what[], TCFunc *f);
PETSC_EXTERN PetscErrorCode TCFuncCreateConstant(PetscReal value, TCFunc *f);
/* n >= 2 points with strictly increasing x; the arrays are copied. */
PETSC_EXTERN PetscErrorCode TCFuncCreateTable(PetscInt n, const PetscReal x[], const PetscReal y[],
                                              const char what[], TCFunc *f);
PETSC_EXTERN PetscErrorCode TCFuncDestroy(TCFunc *f);
/* Speed: replace an expression of x alone by a cubic Hermite interpolant of
   its values and exact derivatives at n equidistant points of [x0, x1]
   (outside, the expression is evaluated). Interpolation error ~ h^4 |f^(4)| / 384;
   e.g. 4097 points on [0, 1] for an OCP with exp(-40 x): < 1e-9 V. *done
   tells whether it was tabulated (not for T-dependent or singular ones). */
PETSC_EXTERN PetscErrorCode TCFuncTabulate(TCFunc f, PetscReal x0, PetscReal x1, PetscInt n,
                                           PetscBool *done);
/* Value at (x, T_K); *dfdx (if not NULL) gets the derivative in x. */
PETSC_EXTERN PetscReal TCFuncEval(TCFunc f, PetscReal x, PetscReal T_K, PetscReal *dfdx);
/* TCFuncEval at n points: v[i] = f(x[i], T_K[i]), dv[i] = df/dx there. The
   stack program runs once over all points (one dispatch per instruction, not
   per point); every point gets exactly the operations of TCFuncEval, so the
   results are its bits whatever n is. */
PETSC_EXTERN void TCFuncEvalBatch(TCFunc f, PetscInt n, const PetscReal x[], const PetscReal T_K[],
                                  PetscReal v[], PetscReal dv[]);
/* PETSC_TRUE if the function is a constant (cheap paths may cache it). */
PETSC_EXTERN PetscBool TCFuncIsConstant(TCFunc f);
/* Does the function depend on T? */
PETSC_EXTERN PetscBool TCFuncUsesT(TCFunc f);
