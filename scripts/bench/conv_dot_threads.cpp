// The fused int8 dot CONV2D (conv_int8_dot_requant) on one and two threads, median of 3000 calls per geometry:
// how much of a split the kernel keeps. Build and run from the repository root (AVX-512 VNNI hosts):
//   g++ -O3 -march=x86-64-v3 -std=c++17 -Ilib scripts/bench/conv_dot_threads.cpp \
//     lib/arch/bayes/sim/kernels/conv2d_int8_dot.cpp lib/arch/bayes/sim/kernels/conv2d_int8_lanes.cpp \
//     lib/common/thread_pool.cpp -o /tmp/conv_dot_threads -lpthread && /tmp/conv_dot_threads
#include "arch/bayes/sim/kernels/conv2d_int8_dot.h"
#include "arch/bayes/sim/kernels/conv2d.h"
#include "common/thread_pool.h"
#include <chrono>
#include <cstdio>
#include <random>
#include <algorithm>
using namespace bpu; using namespace bpu::kernels; using namespace std::chrono;
ConvGeometry geo(int64_t ci, int64_t co, int64_t h, int64_t k, int64_t s, int64_t p){ConvGeometry g;g.batch=1;g.in_channels=ci;g.out_channels=co;g.groups=1;g.in_h=g.in_w=h;g.kernel_h=g.kernel_w=k;g.stride_h=g.stride_w=s;g.pad_top=g.pad_left=p;g.dilation_h=g.dilation_w=1;
 g.out_h=g.out_w=(h+2*p-k)/s+1;return g;}
int main(){
  std::mt19937 rng(1);
  ThreadPool pool1(1), pool2(2);
  for (auto g : {geo(16,48,32,1,1,0), geo(48,48,32,3,1,1), geo(64,64,16,3,1,1), geo(24,72,16,1,1,0), geo(3,16,64,3,2,1), geo(128,128,8,3,1,1)}) {
    std::vector<int8_t> x(g.in_channels*g.in_h*g.in_w), w(g.out_channels*g.in_channels*g.kernel_h*g.kernel_w);
    for(auto&v:x)v=rng();for(auto&v:w)v=rng();
    auto packed = pack_conv_weights(g, w.data());
    std::vector<RequantParams> params(g.out_channels, RequantParams{1<<20, 30, 0});
    std::vector<int8_t> y(g.out_channels*g.out_h*g.out_w);
    double r[2];
    for (int t=0;t<2;t++){ std::vector<double> v; ThreadPool* p = t? &pool2 : &pool1;
      for(int i=0;i<3000;i++){auto t0=steady_clock::now(); conv_int8_dot_requant(g,x.data(),packed,params.data(),1LL<<40,-128,127,y.data(),p); v.push_back(duration<double,std::micro>(steady_clock::now()-t0).count());}
      std::sort(v.begin(),v.end()); r[t]=v[v.size()/2]; }
    printf("%ld->%ld %ldx%ld k%ld s%ld: 1t %.2f us 2t %.2f us (%.2f)\n",g.in_channels,g.out_channels,g.in_h,g.in_w,g.kernel_h,g.stride_h,r[0],r[1],r[1]/r[0]);
  }
}
