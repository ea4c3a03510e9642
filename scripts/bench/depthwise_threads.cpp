// Depthwise CONV2D (depthwise_accumulate_int8) followed by the int32 requantization, on one and two threads, and
// the accumulation alone on one thread, median of 2000 calls per geometry. Build and run from the repository root:
//   g++ -O3 -march=x86-64-v3 -std=c++17 -Ilib scripts/bench/depthwise_threads.cpp \
//     lib/arch/bayes/sim/kernels/conv2d_depthwise.cpp lib/arch/bayes/sim/kernels/conv2d_int8_dot.cpp \
//     lib/arch/bayes/sim/kernels/conv2d_int8_lanes.cpp lib/common/thread_pool.cpp -o /tmp/depthwise_threads \
//     -lpthread && /tmp/depthwise_threads
#include "arch/bayes/sim/kernels/conv2d_depthwise.h"
#include "arch/bayes/sim/kernels/conv2d_int8_dot.h"
#include "common/thread_pool.h"
#include <chrono>
#include <cstdio>
#include <random>
#include <algorithm>
using namespace bpu; using namespace bpu::kernels; using namespace std::chrono;
ConvGeometry geo(int64_t c, int64_t h, int64_t k, int64_t s, int64_t p, int64_t d=1){ConvGeometry g;g.batch=1;g.in_channels=g.out_channels=g.groups=c;g.in_h=g.in_w=h;g.kernel_h=g.kernel_w=k;g.stride_h=g.stride_w=s;g.pad_top=g.pad_left=p;g.dilation_h=g.dilation_w=d;
 g.out_h=g.out_w=(h+2*p-d*(k-1)-1)/s+1;return g;}
int main(){
  std::mt19937 rng(1);
  ThreadPool pool1(1), pool2(2);
  for (auto g : {geo(48,32,3,1,1), geo(48,32,3,2,1), geo(96,16,3,1,1), geo(144,28,3,2,1), geo(32,56,3,1,1), geo(72,16,5,1,2), geo(120,28,5,2,2), geo(240,14,5,1,2), geo(16,40,3,1,2,2),
                 geo(240,4,5,1,2), geo(576,2,5,1,2), geo(72,8,5,1,2), geo(72,16,3,2,1), geo(24,16,3,2,1), geo(88,8,3,1,1)}) {
    std::vector<int8_t> x(g.in_channels*g.in_h*g.in_w), w(g.in_channels*g.kernel_h*g.kernel_w);
    for(auto&v:x)v=rng();for(auto&v:w)v=rng();
    const int64_t P=g.out_h*g.out_w;
    std::vector<int32_t> acc(g.out_channels*P); std::vector<int8_t> y(acc.size());
    std::vector<RequantParams> params(g.out_channels, RequantParams{1<<20, 30, 0});
    const std::vector<int32_t> wt = depthwise_tap_weights(g, w.data());  // built once per workspace in the simulator
    const std::vector<int32_t>* taps = depthwise_channels_last(g) ? &wt : nullptr;
    double r[3];
    for (int t=0;t<2;t++){ std::vector<double> v; ThreadPool* p = t? &pool2 : &pool1;
      for(int i=0;i<2000;i++){auto t0=steady_clock::now(); depthwise_accumulate_int8(g,x.data(),w.data(),acc.data(),p,taps); requantize_int32_rows(acc.data(),1,g.out_channels,P,params.data(),16384*9*4,-128,127,y.data(),p); v.push_back(duration<double,std::micro>(steady_clock::now()-t0).count());}
      std::sort(v.begin(),v.end()); r[t]=v[v.size()/2]; }
    { std::vector<double> v;  // the accumulation alone, one thread
      for(int i=0;i<2000;i++){auto t0=steady_clock::now(); depthwise_accumulate_int8(g,x.data(),w.data(),acc.data(),&pool1,taps); v.push_back(duration<double,std::micro>(steady_clock::now()-t0).count());}
      std::sort(v.begin(),v.end()); r[2]=v[v.size()/2]; }
    printf("dw C%ld %ldx%ld k%ld s%ld d%ld: 1t %.2f us (accumulate %.2f) 2t %.2f us (%.2f)\n",g.in_channels,g.in_h,g.in_w,g.kernel_h,g.stride_h,g.dilation_h,r[0],r[2],r[1],r[1]/r[0]);
  }
}
