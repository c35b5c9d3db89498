"""betavae: β-VAEs with the capacity-controlled objective of Burgess et al. 2018, on fused kernels.

The fused loss ops live in :mod:`betavae.ops`; see README.md for the tour.
"""

import pkgutil

# Running from a source checkout after `pip install .`: the source `betavae/` shadows the installed
# package, which alone holds the compiled `_C` module and the Triton kernels. Extending the package
# path lets those two resolve from the installed copy while the Python modules come from here.
__path__ = pkgutil.extend_path(__path__, __name__)

__version__ = "0.1.0"
