/* MKL chooses slow code paths when it does not see an Intel CPU. Defining these in a library that
   is in the process's global symbol scope before libtorch loads makes it use its AVX2 kernels on
   AMD processors (same math). BertLab loads this with dlopen(RTLD_GLOBAL) at start-up and reports it. */
int mkl_serv_intel_cpu_true(void) { return 1; }
int mkl_serv_intel_cpu(void) { return 1; }
