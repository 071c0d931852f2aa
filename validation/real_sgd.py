"""Real minibatch SGD with momentum against fpsolve's continuous models (issue 11, item 5).

Synthetic least squares: inputs x ~ N(0, H), labels y = xᵀμ + ε with E[ε | x] = 0 and
E[ε² x xᵀ] = Σ (the gradient covariance at the minimum; homoscedastic ε ~ N(0, σ²) when Σ = σ²H,
else ε = n·sqrt(xᵀBx) with B solving tr(BH) H + 2HBH = Σ). Every step draws a fresh minibatch of
S examples for each of many independent chains at once (numpy, seeded), and the heavy ball
θ_{k+1} = θ_k − η g_k + β(θ_k − θ_{k−1}) runs on the minibatch gradient g_k = (1/S) Σ x(xᵀ(θ_k − μ) − ε).
The phase-space point is the midpoint θ̄ = (θ_k + θ_{k−1})/2 with v = (θ_k − θ_{k−1})/η.

Three things are compared:
  * the simulation against the heavy ball's exact second moments, re-derived here (the map
    z_{k+1} = M z_k + G ξ_k of (θ̄ − μ, v) with E[Σ(θ_k)] = Σ + H E[eeᵀ] H + tr(H E[eeᵀ]) H for Gaussian
    x, by Isserlis): within 4 standard errors (chains are independent, so batch means over chain
    groups give the error);
  * fpsolve's modified equation (`modified_equation = true`) against both: the model's own
    error is 0.4 % of σ_i σ_j stationary and 0.8 % in the transient, so 1 % is the issue's bar;
  * Kunin's continuous model, which misses Var v by ≈ ηh/(2(1+β)) (5 %): the check that the
    comparison can fail.
"""
import math

import numpy as np
import scipy.linalg


def label_noise_matrix(h, sigma):
    """B with tr(BH) H + 2 H B H = Σ (None when Σ = σ²H: homoscedastic labels do)."""
    p = len(h)
    ratio = np.trace(sigma) / np.trace(h)
    if np.allclose(sigma, ratio * h, rtol=0, atol=1e-12 * np.abs(sigma).max()):
        return None
    pairs = [(i, j) for i in range(p) for j in range(i, p)]
    columns = []
    for i, j in pairs:
        b = np.zeros((p, p))
        b[i, j] = b[j, i] = 1
        image = np.trace(b @ h) * h + 2 * h @ b @ h
        columns.append([image[a, c] for a, c in pairs])
    coefficients = np.linalg.solve(np.array(columns).T, [sigma[a, c] for a, c in pairs])
    b = np.zeros((p, p))
    for (i, j), value in zip(pairs, coefficients):
        b[i, j] = b[j, i] = value
    if np.linalg.eigvalsh(b).min() < 0:
        raise ValueError("no heteroscedastic label noise of this form gives that Σ (B indefinite)")
    return b


def fourth_moment_tensor(h, inputs):
    """E[x_i x_j x_k x_l] for x = H^{1/2}-correlated inputs: Gaussian (Isserlis), or 'laplace' —
    x = L u with L Lᵀ = H and u i.i.d. Laplace of unit variance (E[u⁴] = 6): T = Isserlis + 3 Σ_m L_im L_jm L_km L_lm."""
    gaussian = np.einsum("ij,kl->ijkl", h, h) + np.einsum("ik,jl->ijkl", h, h) + np.einsum("il,jk->ijkl", h, h)
    if inputs == "gaussian":
        return gaussian
    root = np.linalg.cholesky(h)
    return gaussian + 3 * np.einsum("im,jm,km,lm->ijkl", root, root, root, root)


class HeavyBall:
    """The heavy ball's exact moment recursion in z = (θ̄ − μ, v), for fresh data each step with
    the given input law (the gradient covariance Σ + Q : E[eeᵀ], Q_ijkl = T_ijkl − H_ik H_jl)."""

    def __init__(self, h, sigma, eta, beta, batch, inputs="gaussian"):
        self.h, self.sigma, self.eta, self.beta, self.batch = h, sigma, eta, beta, batch
        t = fourth_moment_tensor(h, inputs)
        self.q = t - 0.5 * (np.einsum("ik,jl->ijkl", h, h) + np.einsum("il,jk->ijkl", h, h))
        p = self.p = len(h)
        i = np.eye(p)
        self.m = np.block([[i - eta * h / 2, eta / 2 * ((1 + beta) * i - eta * h / 2)], [-h, beta * i - eta * h / 2]])
        self.g = np.vstack([-eta / 2 * i, -i])
        self.ahead = np.hstack([i, eta / 2 * i])      # θ_k − μ = P z

    def noise(self, mean, cov):
        second = self.ahead @ (cov + np.outer(mean, mean)) @ self.ahead.T
        gradient = self.sigma + np.einsum("ijkl,kl->ij", self.q, second)
        return self.g @ gradient @ self.g.T / self.batch

    def step(self, mean, cov):
        return self.m @ mean, self.m @ cov @ self.m.T + self.noise(mean, cov)

    def stationary(self):
        cov = np.zeros((2 * self.p, 2 * self.p))
        zero = np.zeros(2 * self.p)
        for _ in range(5000):
            new = scipy.linalg.solve_discrete_lyapunov(self.m, self.noise(zero, cov))
            if np.abs(new - cov).max() <= 1e-15 * np.abs(new).max():
                return new
            cov = new
        raise RuntimeError("the heavy ball's moments do not settle")

    def iterate_covariance(self, cov):
        p, eta = self.p, self.eta
        return cov[:p, :p] + eta * eta / 4 * cov[p:, p:]


def simulate(h, sigma, mu, eta, beta, batch, chains, steps, seed, start=None, burn=0, record=None, groups=20, inputs="gaussian"):
    """Runs `chains` heavy balls for burn + steps steps. start: (mean, cov) of (θ̄, v) at step 0
    (default: all at μ at rest). Returns the covariance of (θ̄ − μ, v) pooled over the last
    `steps` steps with its standard error (from `groups` independent chain groups), or, with
    `record` (a set of step numbers), the mean and covariance across chains at those steps."""
    rng = np.random.default_rng(seed)
    p = len(h)
    root = np.linalg.cholesky(h)
    b = label_noise_matrix(h, sigma)
    s2 = np.trace(sigma) / np.trace(h)
    if start is None:
        theta, previous = np.tile(mu, (chains, 1)), np.tile(mu, (chains, 1))
    else:
        z = rng.multivariate_normal(start[0], start[1], chains)
        theta = mu + z[:, :p] + eta / 2 * z[:, p:]
        previous = mu + z[:, :p] - eta / 2 * z[:, p:]
    sums = np.zeros((groups, 2 * p, 2 * p))
    firsts = np.zeros((groups, 2 * p))
    counts = np.zeros(groups)
    group = np.arange(chains) % groups
    recorded = {}

    def state():
        return np.hstack([(theta + previous) / 2 - mu, (theta - previous) / eta])

    if record is not None and 0 in record:
        z = state()
        recorded[0] = (z.mean(0), np.cov(z.T))
    for k in range(1, burn + steps + 1):
        if inputs == "gaussian":
            x = rng.standard_normal((chains, batch, p)) @ root.T
        else:
            x = rng.laplace(0.0, 1 / math.sqrt(2), (chains, batch, p)) @ root.T
        if b is None:
            eps = math.sqrt(s2) * rng.standard_normal((chains, batch))
        else:
            eps = np.sqrt(np.einsum("csi,ij,csj->cs", x, b, x)) * rng.standard_normal((chains, batch))
        residual = np.einsum("csi,ci->cs", x, theta - mu) - eps
        gradient = np.einsum("csi,cs->ci", x, residual) / batch
        theta, previous = theta - eta * gradient + beta * (theta - previous), theta
        if record is not None:
            if k in record:
                z = state()
                recorded[k] = (z.mean(0), np.cov(z.T))
        elif k > burn:
            z = state()
            for q in range(groups):
                zq = z[group == q]
                sums[q] += zq.T @ zq
                firsts[q] += zq.sum(0)
                counts[q] += len(zq)
    if record is not None:
        return recorded
    means = firsts / counts[:, None]
    covs = sums / counts[:, None, None] - np.einsum("qi,qj->qij", means, means)
    return covs.mean(0), covs.std(0, ddof=1) / math.sqrt(groups)


def relative(a, b, scale):
    """max |a − b| / (σ_i σ_j) with σ² the diagonal of `scale`."""
    s = np.sqrt(np.diag(scale))
    return np.abs(a - b).max() if a.ndim == 1 else (np.abs(a - b) / np.outer(s, s)).max()


class ModifiedEquation:
    """The heavy ball's modified equation re-derived here from its definition (README, "Real SGD"),
    independently of fpsolve's Swift code: drift A = log(M)/η (SciPy's logm), velocity noise
    L(Σ) matching the discrete stationary θ̄ covariance (SciPy's Lyapunov solvers), state-dependent
    noise at the look-ahead point of the state the flow came from, averaged over the step. Its
    moment equations close (linear drift, quadratic D), so mean and covariance follow exactly:
    stationary by fixed point, transient by RK4."""

    def __init__(self, ball):
        self.ball = ball
        p, eta = ball.p, ball.eta
        self.a = scipy.linalg.logm(ball.m).real / eta          # z' = A z
        pairs = [(i, j) for i in range(p) for j in range(i, p)]
        self.pairs = pairs

        def basis(i, j):
            b = np.zeros((p, p))
            b[i, j] = b[j, i] = 1
            return b

        def theta_block(dv):
            d = np.zeros((2 * p, 2 * p))
            d[p:, p:] = dv
            return scipy.linalg.solve_continuous_lyapunov(self.a, -2 * d)[:p, :p]

        f = np.array([[theta_block(basis(*a))[b] for a in pairs] for b in pairs])
        g = np.array([[scipy.linalg.solve_discrete_lyapunov(ball.m, ball.g @ basis(*a) @ ball.g.T / ball.batch)[:p, :p][b]
                       for a in pairs] for b in pairs])
        self.l = np.linalg.solve(f, g)                          # Σ (upper triangle) → D_v (upper triangle)
        nodes, weights = np.polynomial.legendre.leggauss(12)
        self.back = [(w / 2, ball.ahead @ scipy.linalg.expm(-self.a * (x + 1) / 2 * eta)) for x, w in zip(nodes, weights)]

    def velocity_diffusion(self, sigma):
        p = self.ball.p
        values = self.l @ np.array([sigma[a] for a in self.pairs])
        dv = np.zeros((p, p))
        for (i, j), value in zip(self.pairs, values):
            dv[i, j] = dv[j, i] = value
        return dv

    def rates(self, mean, cov):
        ball, p = self.ball, self.ball.p
        second = sum(w * b @ (cov + np.outer(mean, mean)) @ b.T for w, b in self.back)
        sigma = ball.sigma + np.einsum("ijkl,kl->ij", ball.q, second)
        d = np.zeros((2 * p, 2 * p))
        d[p:, p:] = self.velocity_diffusion(sigma)
        return self.a @ mean, self.a @ cov + cov @ self.a.T + 2 * d

    def stationary(self):
        p = self.ball.p
        cov = np.zeros((2 * p, 2 * p))
        zero = np.zeros(2 * p)
        for _ in range(5000):
            _, rate = self.rates(zero, cov)
            forcing = rate - self.a @ cov - cov @ self.a.T
            new = scipy.linalg.solve_continuous_lyapunov(self.a, -forcing)
            if np.abs(new - cov).max() <= 1e-15 * np.abs(new).max():
                return new
            cov = new
        raise RuntimeError("the modified equation's moments do not settle")

    def transient(self, mean, cov, steps, substeps=100):
        """Mean and covariance at t = kη for k = 0 … steps (RK4, η/substeps)."""
        h = self.ball.eta / substeps
        out = [(mean, cov)]
        for _ in range(steps):
            for _ in range(substeps):
                k1 = self.rates(mean, cov)
                k2 = self.rates(mean + h / 2 * k1[0], cov + h / 2 * k1[1])
                k3 = self.rates(mean + h / 2 * k2[0], cov + h / 2 * k2[1])
                k4 = self.rates(mean + h * k3[0], cov + h * k3[1])
                mean = mean + h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
                cov = cov + h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
            out.append((mean, cov))
        return out
