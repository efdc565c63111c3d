// The plain learner's update for the scalar value (zoo_core/fast/plain.py, PlainLearner.grads with
// the fused Huber loss of zoo_core/fast/losses.py) as one call: the same ATen kernels in the same
// order, so the gradients are bit-identical to the Python path (tests/test_native.py); only the
// Python interpreter between the ~50 ops of an update is gone. Built on request by
// zoo_core/fast/native.py; never built implicitly.
#include <torch/extension.h>

#include <vector>

using at::Tensor;

namespace {

// network(x) for weights w[i] [out, in], biases b[i] [out], ReLU after layer i where relu[i];
// appends every layer's input, then the output, to `saved` when given. Same kernels as F.linear.
Tensor forward(Tensor x, const std::vector<Tensor>& w, const std::vector<Tensor>& b, const std::vector<bool>& relu,
               std::vector<Tensor>* saved) {
  for (size_t i = 0; i < w.size(); ++i) {
    if (saved) saved->push_back(x);
    x = at::addmm(b[i], x, w[i].t());
    if (relu[i]) x.relu_();
  }
  if (saved) saved->push_back(x);
  return x;
}

}  // namespace

// Returns {loss_b [B], priority [B], then each parameter's gradient in parameter order (w0, b0, w1, ...)}.
// obs_tm1, obs_t: [B, obs] float32; a_tm1: [B] int64; r_t, discount_t: [B]; grad_loss: [B], the
// gradient of the reduced loss with respect to each sample's loss (mean's 1/B or sum's 1, times
// importance weights). w, b: the online network's parameters; tw, tb: the target's (only read).
std::vector<Tensor> scalar_update(const Tensor& obs_tm1, const Tensor& a_tm1, const Tensor& r_t,
                                  const Tensor& discount_t, const Tensor& obs_t, const std::vector<Tensor>& w,
                                  const std::vector<Tensor>& b, const std::vector<Tensor>& tw,
                                  const std::vector<Tensor>& tb, const std::vector<bool>& relu,
                                  const Tensor& grad_loss, bool double_q, double delta) {
  const int64_t size = obs_tm1.size(0);
  const size_t layers = w.size();
  std::vector<Tensor> saved;
  std::vector<Tensor> layer_grads(layers);
  Tensor loss_b, priority;
  {
    c10::InferenceMode inference;  // intermediates only: what outlives the update is made below
    Tensor obs = double_q ? at::cat({obs_tm1, obs_t}) : obs_tm1;
    Tensor out = forward(obs, w, b, relu, &saved);  // [B or 2B, A]
    Tensor q_t = forward(obs_t, tw, tb, relu, nullptr);
    Tensor q_tm1 = double_q ? out.slice(0, 0, size) : out;
    Tensor target;
    if (double_q) {
      Tensor a_t = out.slice(0, size).argmax(-1, true);
      target = r_t + discount_t * q_t.gather(-1, a_t).squeeze(-1);
    } else {
      target = r_t + discount_t * q_t.amax(-1);
    }
    Tensor a = a_tm1.unsqueeze(-1);
    Tensor error = target - q_tm1.gather(-1, a).squeeze(-1);
    Tensor grad_error = at::huber_loss_backward(grad_loss, error, at::zeros_like(error), 0, delta);
    Tensor grad_qa = (-grad_error).unsqueeze(-1);
    Tensor grad_tm1 = grad_qa.new_zeros({grad_qa.size(0), q_tm1.size(1)}).scatter_add_(-1, a, grad_qa);
    loss_b = at::huber_loss(error, at::zeros_like(error), 0, delta);
    priority = error.abs();
    Tensor grad;
    if (double_q) {  // the selector half gets no gradient
      grad = out.new_zeros(out.sizes());
      grad.slice(0, 0, size).copy_(grad_tm1);
    } else {
      grad = grad_tm1;
    }
    for (size_t j = layers; j-- > 0;) {
      if (relu[j]) grad = at::threshold_backward(grad, saved[j + 1], 0);
      layer_grads[j] = grad;
      if (j) {
        const Tensor& x = saved[j];
        if (x.stride(0) == 1 && x.stride(1) == x.size(0)) {
          grad = w[j].t().mm(grad.t()).t();
        } else {
          grad = grad.mm(w[j]);
        }
      }
    }
  }
  // The gradients are written to later (clip, optimiser): ordinary tensors, as in the Python path.
  at::AutoGradMode no_grad(false);
  std::vector<Tensor> result{loss_b, priority};
  for (size_t j = 0; j < layers; ++j) {
    result.push_back(layer_grads[j].t().mm(saved[j]));
    result.push_back(layer_grads[j].sum(0));
  }
  return result;
}

// The greedy values [N, A] of the online network for observations [N, obs] (acting): forward alone.
Tensor scalar_q_values(const Tensor& obs, const std::vector<Tensor>& w, const std::vector<Tensor>& b,
                       const std::vector<bool>& relu) {
  c10::InferenceMode inference;
  return forward(obs, w, b, relu, nullptr);
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  m.def("scalar_update", &scalar_update, "The plain learner's scalar-value update (see zoo_core/fast/native.py).");
  m.def("scalar_q_values", &scalar_q_values, "The plain network's forward pass, for acting.");
}
