"""Honest, independently written solutions of assignment 1's functions (NumPy and PyTorch), five of each.

Each is a different way to the same result, as students write them. `TWINS` holds the same code as a copier
would rewrite it: its loops turned into the equivalent comprehensions (or the other way round).
"""
from __future__ import annotations

DIST = [
    # 0: the expansion ||x||^2 + ||y||^2 - 2 x.y
    '''def compute_distances(X, Y):
    sq = np.sum(X ** 2, axis=1)[:, None] + np.sum(Y ** 2, axis=1)[None, :] - 2 * X @ Y.T
    return np.sqrt(np.maximum(sq, 0))
''',
    # 1: broadcast difference
    '''def compute_distances(X, Y):
    diff = X[:, np.newaxis, :] - Y[np.newaxis, :, :]
    return np.sqrt((diff * diff).sum(axis=2))
''',
    # 2: PyTorch
    '''import torch

def compute_distances(X, Y):
    a = torch.from_numpy(np.asarray(X, dtype=np.float64))
    b = torch.from_numpy(np.asarray(Y, dtype=np.float64))
    d2 = (a * a).sum(1, keepdim=True) + (b * b).sum(1).unsqueeze(0) - 2.0 * a.mm(b.t())
    return d2.clamp_min(0.0).sqrt().numpy()
''',
    # 3: einsum
    '''def compute_distances(X, Y):
    xx = np.einsum('ij,ij->i', X, X)
    yy = np.einsum('ij,ij->i', Y, Y)
    cross = np.einsum('ij,kj->ik', X, Y)
    d2 = xx.reshape(-1, 1) - 2 * cross + yy.reshape(1, -1)
    d2[d2 < 0] = 0
    return np.sqrt(d2)
''',
    # 4: one loop over the rows of X
    '''def compute_distances(X, Y):
    num_test = X.shape[0]
    dists = np.zeros((num_test, Y.shape[0]))
    for i in range(num_test):
        dists[i] = np.sqrt(np.sum(np.square(Y - X[i]), axis=1))
    return dists
''',
]

LABELS = [
    # 0: argsort + bincount, a loop over test points
    '''def predict_labels(dists, y_train, k=1):
    num_test = dists.shape[0]
    y_pred = np.zeros(num_test, dtype=np.int64)
    for i in range(num_test):
        y_pred[i] = np.argmax(np.bincount(y_train[np.argsort(dists[i])[:k]]))
    return y_pred
''',
    # 1: argpartition, vectorised neighbour lookup
    '''def predict_labels(dists, y_train, k=1):
    nearest = np.argpartition(dists, k - 1, axis=1)[:, :k]
    votes = y_train[nearest]
    n_classes = y_train.max() + 1
    counts = np.apply_along_axis(lambda r: np.bincount(r, minlength=n_classes), 1, votes)
    return counts.argmax(axis=1)
''',
    # 2: PyTorch topk + one_hot
    '''import torch
import torch.nn.functional as F

def predict_labels(dists, y_train, k=1):
    d = torch.as_tensor(dists)
    idx = torch.topk(d, k, dim=1, largest=False).indices
    lab = torch.as_tensor(y_train, dtype=torch.long)[idx]
    counts = F.one_hot(lab, num_classes=int(y_train.max()) + 1).sum(dim=1)
    return counts.argmax(dim=1).numpy()
''',
    # 3: collections.Counter with an explicit tie rule
    '''from collections import Counter

def predict_labels(dists, y_train, k=1):
    result = []
    for row in dists:
        votes = Counter(y_train[np.argsort(row, kind="stable")[:k]].tolist())
        best = max(votes.values())
        result.append(min(label for label, c in votes.items() if c == best))
    return np.array(result)
''',
    # 4: np.unique per row
    '''def predict_labels(dists, y_train, k=1):
    order = np.argsort(dists, axis=1)[:, :k]
    neighbour_labels = y_train[order]
    out = np.empty(len(dists), dtype=int)
    for j, labels in enumerate(neighbour_labels):
        values, counts = np.unique(labels, return_counts=True)
        out[j] = values[counts == counts.max()].min()
    return out
''',
]

SVM = [
    # 0: the classic vectorised form
    '''def svm_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    scores = X.dot(W)
    correct = scores[np.arange(N), y][:, None]
    margins = np.maximum(0, scores - correct + 1)
    margins[np.arange(N), y] = 0
    loss = margins.sum() / N + reg * np.sum(W * W)
    mask = (margins > 0).astype(float)
    mask[np.arange(N), y] = -mask.sum(axis=1)
    dW = X.T.dot(mask) / N + 2 * reg * W
    return loss, dW
''',
    # 1: PyTorch autograd
    '''import torch

def svm_loss_vectorized(W, X, y, reg):
    w = torch.tensor(W, requires_grad=True)
    s = torch.from_numpy(X) @ w
    labels = torch.from_numpy(np.asarray(y)).long()
    true_score = s.gather(1, labels.view(-1, 1))
    hinge = torch.relu(s - true_score + 1.0)
    hinge = hinge * (1 - torch.nn.functional.one_hot(labels, s.shape[1]))
    total = hinge.sum() / s.shape[0] + reg * (w ** 2).sum()
    total.backward()
    return total.item(), w.grad.numpy()
''',
    # 2: one-hot matrices
    '''def svm_loss_vectorized(W, X, y, reg):
    num, classes = X.shape[0], W.shape[1]
    onehot = np.eye(classes)[y]
    S = X @ W
    sy = (S * onehot).sum(1, keepdims=True)
    M = np.clip(S - sy + 1, 0, None) * (1 - onehot)
    loss = M.sum() / num + reg * (W ** 2).sum()
    G = (M > 0).astype(X.dtype)
    G -= onehot * G.sum(1, keepdims=True)
    return loss, X.T @ G / num + 2 * reg * W
''',
    # 3: a loop over samples
    '''def svm_loss_vectorized(W, X, y, reg):
    dW = np.zeros_like(W)
    loss = 0.0
    n = X.shape[0]
    for i in range(n):
        s = X[i] @ W
        m = np.maximum(0, s - s[y[i]] + 1)
        m[y[i]] = 0
        loss += m.sum()
        pos = (m > 0).astype(float)
        pos[y[i]] = -pos.sum()
        dW += np.outer(X[i], pos)
    loss = loss / n + reg * np.sum(W ** 2)
    dW = dW / n + 2 * reg * W
    return loss, dW
''',
    # 4: PyTorch by hand
    '''import torch

def svm_loss_vectorized(W, X, y, reg):
    Xt, Wt = torch.from_numpy(X), torch.from_numpy(W)
    yt = torch.from_numpy(np.asarray(y))
    rows = torch.arange(Xt.shape[0])
    S = Xt @ Wt
    marg = (S - S[rows, yt].unsqueeze(1) + 1).clamp(min=0)
    marg[rows, yt] = 0
    value = marg.sum() / Xt.shape[0] + reg * (Wt ** 2).sum()
    binary = (marg > 0).double()
    binary[rows, yt] = -binary.sum(dim=1)
    grad = Xt.t() @ binary / Xt.shape[0] + 2 * reg * Wt
    return value.item(), grad.numpy()
''',
]

SOFTMAX = [
    # 0: the classic vectorised form
    '''def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    S = X @ W
    S -= S.max(axis=1, keepdims=True)
    P = np.exp(S)
    P /= P.sum(axis=1, keepdims=True)
    loss = -np.log(P[np.arange(N), y]).mean() + reg * np.sum(W * W)
    P[np.arange(N), y] -= 1
    return loss, X.T @ P / N + 2 * reg * W
''',
    # 1: PyTorch autograd with cross_entropy
    '''import torch
import torch.nn.functional as F

def softmax_loss_vectorized(W, X, y, reg):
    weights = torch.tensor(W, requires_grad=True)
    logits = torch.from_numpy(X) @ weights
    target = torch.as_tensor(y, dtype=torch.long)
    objective = F.cross_entropy(logits, target) + reg * torch.sum(weights * weights)
    objective.backward()
    return objective.item(), weights.grad.numpy()
''',
    # 2: log-softmax by hand
    '''def softmax_loss_vectorized(W, X, y, reg):
    num = len(y)
    z = X.dot(W)
    shifted = z - z.max(1)[:, None]
    logp = shifted - np.log(np.exp(shifted).sum(1))[:, None]
    loss = -logp[range(num), y].sum() / num + reg * (W * W).sum()
    dz = np.exp(logp)
    dz[range(num), y] -= 1
    dW = X.T.dot(dz) / num + 2 * reg * W
    return loss, dW
''',
    # 3: probabilities, then a loop that sums the log-likelihood
    '''def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    scores = X.dot(W)
    scores -= np.max(scores, axis=1, keepdims=True)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    loss = 0.0
    for i in range(N):
        loss += -np.log(probs[i, y[i]])
    loss = loss / N + reg * np.sum(W ** 2)
    onehot = np.zeros_like(probs)
    onehot[np.arange(N), y] = 1
    dW = X.T.dot(probs - onehot) / N + 2 * reg * W
    return loss, dW
''',
    # 4: PyTorch by hand
    '''import torch

def softmax_loss_vectorized(W, X, y, reg):
    Xt = torch.as_tensor(X)
    Wt = torch.as_tensor(W)
    yt = torch.as_tensor(y).long()
    idx = torch.arange(len(yt))
    St = Xt @ Wt
    St = St - St.max(dim=1, keepdim=True).values
    prob = torch.softmax(St, dim=1)
    loss = -torch.log(prob[idx, yt]).mean() + reg * (Wt * Wt).sum()
    prob[idx, yt] -= 1
    return float(loss), (Xt.T @ prob / len(yt) + 2 * reg * Wt).numpy()
''',
]

# The same code with its loops rewritten as comprehensions (what a copier does to hide a copy).
TWINS = {
    ("dist", 4): '''def compute_distances(X, Y):
    return np.array([np.sqrt(np.sum(np.square(Y - X[i]), axis=1)) for i in range(X.shape[0])])
''',
    ("labels", 0): '''def predict_labels(dists, y_train, k=1):
    num_test = dists.shape[0]
    y_pred = np.array([np.argmax(np.bincount(y_train[np.argsort(dists[i])[:k]])) for i in range(num_test)])
    return y_pred
''',
    ("softmax", 3): '''def softmax_loss_vectorized(W, X, y, reg):
    N = X.shape[0]
    scores = X.dot(W)
    scores -= np.max(scores, axis=1, keepdims=True)
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=1, keepdims=True)
    loss = sum(-np.log(probs[i, y[i]]) for i in range(N))
    loss = loss / N + reg * np.sum(W ** 2)
    onehot = np.zeros_like(probs)
    onehot[np.arange(N), y] = 1
    dW = X.T.dot(probs - onehot) / N + 2 * reg * W
    return loss, dW
''',
}

# The other solution cells of assignment 1 (fewer variants: the benchmark fills every cell, as students do).
L1 = [
    '''def compute_distances_l1(X, Y):
    return np.abs(X[:, None, :] - Y[None, :, :]).sum(axis=2)
''',
    '''def compute_distances_l1(X, Y):
    D = np.zeros((X.shape[0], Y.shape[0]))
    for i, x in enumerate(X):
        D[i] = np.sum(np.abs(Y - x), axis=1)
    return D
''',
    '''import torch

def compute_distances_l1(X, Y):
    return torch.cdist(torch.as_tensor(X), torch.as_tensor(Y), p=1).numpy()
''',
]

KNN_CLASS = [
    '''class KNearestNeighbor:
    def train(self, X, y):
        self.X_train = X
        self.y_train = y

    def predict(self, X, k=1):
        return predict_labels(compute_distances(X, self.X_train), self.y_train, k=k)
''',
    '''class KNearestNeighbor:
    """kNN with L2 distance."""

    def train(self, X, y):
        self.data, self.labels = np.asarray(X), np.asarray(y)

    def predict(self, X, k=1):
        dists = compute_distances(np.asarray(X), self.data)
        labels = predict_labels(dists, self.labels, k)
        return labels
''',
]

CV = [
    '''def cross_validate_k(X, y, k_choices, num_folds=5):
    X_folds = np.array_split(X, num_folds)
    y_folds = np.array_split(y, num_folds)
    acc = np.zeros((len(k_choices), num_folds))
    for f in range(num_folds):
        X_tr = np.concatenate(X_folds[:f] + X_folds[f + 1:])
        y_tr = np.concatenate(y_folds[:f] + y_folds[f + 1:])
        d = compute_distances(X_folds[f], X_tr)
        for ki, k in enumerate(k_choices):
            acc[ki, f] = np.mean(predict_labels(d, y_tr, k) == y_folds[f])
    return acc
''',
    '''def cross_validate_k(X, y, k_choices, num_folds=5):
    parts = list(zip(np.array_split(X, num_folds), np.array_split(y, num_folds)))
    result = []
    for k in k_choices:
        row = []
        for i, (Xv, yv) in enumerate(parts):
            Xt = np.vstack([p[0] for j, p in enumerate(parts) if j != i])
            yt = np.hstack([p[1] for j, p in enumerate(parts) if j != i])
            clf = KNearestNeighbor()
            clf.train(Xt, yt)
            row.append((clf.predict(Xv, k=k) == yv).mean())
        result.append(row)
    return np.array(result)
''',
    '''def cross_validate_k(X, y, k_choices, num_folds=5):
    idx = np.array_split(np.arange(len(X)), num_folds)
    out = np.empty((len(k_choices), num_folds))
    for fold, val in enumerate(idx):
        train = np.concatenate([ix for g, ix in enumerate(idx) if g != fold])
        dist = compute_distances(X[val], X[train])
        out[:, fold] = [np.mean(predict_labels(dist, y[train], k=kk) == y[val]) for kk in k_choices]
    return out
''',
]

TRAIN_STEP = [
    '''idx = np.random.choice(num_train, batch_size, replace=True)
            loss, grad = self.loss(X[idx], y[idx], reg)
            loss_history.append(loss)
            self.W -= learning_rate * grad''',
    '''batch = np.random.choice(num_train, batch_size)
            X_batch, y_batch = X[batch], y[batch]
            loss, dW = self.loss(X_batch, y_batch, reg)
            self.W = self.W - learning_rate * dW
            loss_history.append(float(loss))''',
]
PREDICT = [
    "return np.argmax(X @ self.W, axis=1)",
    "scores = X.dot(self.W)\n        return scores.argmax(1)",
]
