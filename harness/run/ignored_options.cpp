// harness/run/ignored_options.cpp — the warnings for options that do nothing in this run.
#include "harness/run/ignored_options.hpp"

#include "models/data/synthetic.hpp"

namespace psgd {

std::vector<std::string> ignored_option_warnings(const RunConfig& cfg, std::size_t train_samples) {
  const RunConfig defaults;
  std::vector<std::string> out;
  // linear is the one model without a hidden layer (models/model_factory.cpp).
  if (cfg.model == "linear" && cfg.activation != defaults.activation) {
    out.push_back("--activation " + cfg.activation +
                  " has no effect: --model linear has no hidden layer");
  }
  if (is_synthetic_name(cfg.dataset)) {
    if (cfg.raw_pixels) {
      out.push_back("--raw-pixels has no effect: --dataset " + cfg.dataset +
                    " is generated, not read from image files");
    }
    if (cfg.data_dir != defaults.data_dir) {
      out.push_back("--data-dir " + cfg.data_dir + " has no effect: --dataset " + cfg.dataset +
                    " is generated, not read from files");
    }
  }
  if (cfg.eval_samples > 0 && static_cast<std::size_t>(cfg.eval_samples) > train_samples) {
    out.push_back("--eval-samples " + std::to_string(cfg.eval_samples) + " exceeds the " +
                  std::to_string(train_samples) +
                  " training samples: the train loss is evaluated on all of them");
  }
  return out;
}

}  // namespace psgd
