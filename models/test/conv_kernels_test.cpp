// models/test/conv_kernels_test.cpp — the direct convolution kernels (models/conv/) in float and
// double against naive loops over the planar, batch-minor layout: the forward pass with its
// pooling and argmax, the weight gradient and the input gradient. Sample counts around the
// packet widths (4, 8, 16 floats; 2, 4, 8 doubles) exercise the packets and the scalar tails;
// 3 and 8 output channels exercise a partial and a full register group. (The models'
// finite-difference tests check the same kernels through the loss, in float.)
#include "models/conv/conv_kernels.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <vector>

#include "common/random.hpp"

namespace psgd::detail::conv {
namespace {

// Index of (c, y, x, s) in planes of h rows of w * n values.
std::size_t at(int c, int y, int x, std::size_t s, int h, int w, std::size_t n) {
  const auto plane_rows = static_cast<std::size_t>(c) * static_cast<std::size_t>(h);
  return ((plane_rows + static_cast<std::size_t>(y)) * static_cast<std::size_t>(w) +
          static_cast<std::size_t>(x)) *
             n +
         s;
}

// One random convolution (2 input channels, 9 x 8, 3x3 kernel: a 7 x 6 output with an odd row
// the pool drops) and its output gradient, stored with the kernel - 1 zero border.
template <typename T>
struct ConvCase {
  ConvCase(std::size_t n, int out_c, SplitMix64& rng) : s{2, 9, 8, out_c, 3, n} {
    in = random_values(at(s.in_c, 0, 0, 0, s.in_h, s.in_w, n), rng);
    w = random_values(weight_index(out_c, 0, 0, 0), rng);
    b = random_values(static_cast<std::size_t>(out_c), rng);
    dz_padded.assign(at(out_c, 0, 0, 0, dh(), dw(), n), T{0});
    for (int o = 0; o < out_c; ++o) {
      for (int y = 0; y < 2 * ph(); ++y) {  // dz is zero where no pooling window reaches
        for (int x = 0; x < 2 * pw(); ++x) {
          for (std::size_t i = 0; i < n; ++i) {
            dz_padded[at(o, y + border(), x + border(), i, dh(), dw(), n)] =
                static_cast<T>(rng.uniform01()) - T{0.5};
          }
        }
      }
    }
  }
  static std::vector<T> random_values(std::size_t size, SplitMix64& rng) {
    std::vector<T> v(size);
    for (T& x : v) x = static_cast<T>(rng.uniform01()) - T{0.5};
    return v;
  }
  [[nodiscard]] int ph() const { return s.out_h() / 2; }
  [[nodiscard]] int pw() const { return s.out_w() / 2; }
  [[nodiscard]] int border() const { return s.kernel - 1; }
  [[nodiscard]] int dh() const { return s.out_h() + 2 * border(); }
  [[nodiscard]] int dw() const { return s.out_w() + 2 * border(); }
  [[nodiscard]] Planes<const T> input() const {
    return {in.data(), at(1, 0, 0, 0, s.in_h, s.in_w, s.n), s.in_w * s.n};
  }
  // Where weight {o, c, ky, kx} lies in the row-major {out_c, in_c, k, k} weights.
  [[nodiscard]] std::size_t weight_index(int o, int c, int ky, int kx) const {
    const auto k = static_cast<std::size_t>(s.kernel);
    return ((static_cast<std::size_t>(o) * static_cast<std::size_t>(s.in_c) +
             static_cast<std::size_t>(c)) *
                k +
            static_cast<std::size_t>(ky)) *
               k +
           static_cast<std::size_t>(kx);
  }
  [[nodiscard]] double weight(int o, int c, int ky, int kx) const {
    return w[weight_index(o, c, ky, kx)];
  }
  [[nodiscard]] double input_at(int c, int y, int x, std::size_t i) const {
    return in[at(c, y, x, i, s.in_h, s.in_w, s.n)];
  }
  [[nodiscard]] double dz(int o, int y, int x, std::size_t i) const {
    return dz_padded[at(o, y + border(), x + border(), i, dh(), dw(), s.n)];
  }
  [[nodiscard]] double z(int o, int y, int x, std::size_t i) const {
    double v = b[static_cast<std::size_t>(o)];
    for (int c = 0; c < s.in_c; ++c) {
      for (int ky = 0; ky < s.kernel; ++ky) {
        for (int kx = 0; kx < s.kernel; ++kx) {
          v += weight(o, c, ky, kx) * input_at(c, y + ky, x + kx, i);
        }
      }
    }
    return v;
  }

  ConvShape s;
  std::vector<T> in, w, b, dz_padded;
};

template <typename T>
class ConvKernels : public ::testing::Test {
 protected:
  // float: loose (the kernels fuse multiply-adds and sum in another order); double: tight.
  static constexpr double kTolerance = sizeof(T) == 4 ? 1e-5 : 1e-12;

  static void check_forward(const ConvCase<T>& c) {
    const std::size_t n = c.s.n;
    std::vector<T> pooled(at(c.s.out_c, 0, 0, 0, c.ph(), c.pw(), n));
    std::vector<T> argmax(pooled.size());
    std::vector<T> rows(static_cast<std::size_t>(c.s.out_c * 2 * 2 * c.pw()) * n);
    conv_pool_forward<T>(c.s, c.input(), c.w.data(), c.b.data(), Activation::kRelu,
                         {pooled.data(), at(1, 0, 0, 0, c.ph(), c.pw(), n), c.pw() * n},
                         argmax.data(), rows.data());
    for (int o = 0; o < c.s.out_c; ++o) {
      for (int py = 0; py < c.ph(); ++py) {
        for (int px = 0; px < c.pw(); ++px) {
          for (std::size_t i = 0; i < n; ++i) {
            double best = c.z(o, 2 * py, 2 * px, i);
            for (int p = 1; p < 4; ++p) {
              best = std::max(best, c.z(o, 2 * py + p / 2, 2 * px + p % 2, i));
            }
            const std::size_t q = at(o, py, px, i, c.ph(), c.pw(), n);
            ASSERT_NEAR(pooled[q], std::max(best, 0.0), kTolerance);
            const auto p = static_cast<int>(argmax[q]);
            ASSERT_NEAR(c.z(o, 2 * py + p / 2, 2 * px + p % 2, i), best, kTolerance);
          }
        }
      }
    }
  }

  static void check_weight_grad(const ConvCase<T>& c) {
    const std::size_t n = c.s.n;
    const Planes<const T> dz{
        c.dz_padded.data() + at(0, c.border(), c.border(), 0, c.dh(), c.dw(), n),
        at(1, 0, 0, 0, c.dh(), c.dw(), n), c.dw() * n};
    std::vector<T> wg(c.w.size());
    conv_weight_grad<T>(c.s, 2 * c.ph(), 2 * c.pw(), c.input(), dz, wg.data());
    const int k = c.s.kernel;
    for (int o = 0; o < c.s.out_c; ++o) {
      for (int ch = 0; ch < c.s.in_c; ++ch) {
        for (int t = 0; t < k * k; ++t) {
          double want = 0.0;
          for (int y = 0; y < c.s.out_h(); ++y) {
            for (int x = 0; x < c.s.out_w(); ++x) {
              for (std::size_t i = 0; i < n; ++i) {
                want += c.dz(o, y, x, i) * c.input_at(ch, y + t / k, x + t % k, i);
              }
            }
          }
          // Sums of ~800 products: ten times the tolerance of one convolution output.
          ASSERT_NEAR(wg[c.weight_index(o, ch, t / k, t % k)], want, 10 * kTolerance);
        }
      }
    }
  }

  static void check_input_grad(const ConvCase<T>& c) {
    const std::size_t n = c.s.n;
    std::vector<T> dx(c.in.size());
    std::vector<T> flipped(c.w.size());
    conv_input_grad<T>(c.s, {c.dz_padded.data(), at(1, 0, 0, 0, c.dh(), c.dw(), n), c.dw() * n},
                       c.w.data(), 0, c.s.in_h, 0, c.s.in_w,
                       {dx.data(), at(1, 0, 0, 0, c.s.in_h, c.s.in_w, n), c.s.in_w * n},
                       flipped.data());
    const int k = c.s.kernel;
    for (int ch = 0; ch < c.s.in_c; ++ch) {
      for (int y = 0; y < c.s.in_h; ++y) {
        for (int x = 0; x < c.s.in_w; ++x) {
          for (std::size_t i = 0; i < n; ++i) {
            double want = 0.0;
            for (int o = 0; o < c.s.out_c; ++o) {
              for (int t = 0; t < k * k; ++t) {
                const int oy = y - t / k;
                const int ox = x - t % k;
                if (oy >= 0 && oy < c.s.out_h() && ox >= 0 && ox < c.s.out_w()) {
                  want += c.weight(o, ch, t / k, t % k) * c.dz(o, oy, ox, i);
                }
              }
            }
            ASSERT_NEAR(dx[at(ch, y, x, i, c.s.in_h, c.s.in_w, n)], want, kTolerance);
          }
        }
      }
    }
  }
};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(ConvKernels, Scalars);

TYPED_TEST(ConvKernels, MatchNaiveLoops) {
  SplitMix64 rng(9);
  for (const std::size_t n : {std::size_t{1}, std::size_t{5}, std::size_t{19}}) {
    for (const int out_c : {3, 8}) {
      const ConvCase<TypeParam> c(n, out_c, rng);
      SCOPED_TRACE(testing::Message() << n << " samples, " << out_c << " channels");
      TestFixture::check_forward(c);
      TestFixture::check_weight_grad(c);
      TestFixture::check_input_grad(c);
    }
  }
}

}  // namespace
}  // namespace psgd::detail::conv
