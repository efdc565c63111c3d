"""The speed path: learners and optimiser steps that skip ``nn.Module`` and autograd bookkeeping while
giving the same bits. The only place in the zoo that touches private torch APIs."""
