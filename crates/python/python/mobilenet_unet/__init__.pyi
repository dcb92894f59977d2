"""Type stubs of the mobilenet_unet package's public API (docstrings are in the .py files)."""

import os
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

__version__: str
__all__: List[str]

_Path = Union[str, os.PathLike]
_Image = Union[_Path, npt.NDArray[np.uint8]]
_Colors = Sequence[Tuple[int, int, int]]

#: keras-segmentation's default class colours, (B, G, R).
KERAS_SEGMENTATION_COLORS: List[Tuple[int, int, int]]

class Model:
    def __init__(self, native: object) -> None: ...
    @classmethod
    def load(cls, path: _Path, threads: Optional[int] = None, precision: str = "f32") -> Model: ...
    @classmethod
    def default(cls, threads: Optional[int] = None, precision: str = "f32") -> Model: ...
    @classmethod
    def from_bytes(
        cls, data: bytes, name: str = "<bytes>", threads: Optional[int] = None, precision: str = "f32"
    ) -> Model: ...
    @property
    def n_classes(self) -> int: ...
    @property
    def input_height(self) -> int: ...
    @property
    def input_width(self) -> int: ...
    @property
    def input_size(self) -> Tuple[int, int]: ...
    @property
    def output_height(self) -> int: ...
    @property
    def output_width(self) -> int: ...
    @property
    def class_names(self) -> List[str]: ...
    @property
    def class_colors(self) -> List[Tuple[int, int, int]]: ...
    @property
    def preprocessing(self) -> str: ...
    @property
    def resize(self) -> str: ...
    @property
    def label_resize(self) -> str: ...
    @property
    def alpha(self) -> float: ...
    @property
    def source(self) -> str: ...
    def summary(self, print_fn: Optional[Callable[[str], object]] = None) -> None: ...
    def predict(self, x: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]: ...
    def segment(self, image: _Image) -> npt.NDArray[np.uint16]: ...
    def predict_segmentation(
        self,
        inp: Optional[_Image] = None,
        out_fname: Optional[_Path] = None,
        overlay_img: bool = False,
        class_names: Optional[Sequence[str]] = None,
        show_legends: bool = False,
        colors: _Colors = ...,
        prediction_width: Optional[int] = None,
        prediction_height: Optional[int] = None,
    ) -> npt.NDArray[np.int64]: ...
    def predict_multiple(
        self,
        inps: Optional[Sequence[_Image]] = None,
        inp_dir: Optional[_Path] = None,
        out_dir: Optional[_Path] = None,
        overlay_img: bool = False,
        class_names: Optional[Sequence[str]] = None,
        show_legends: bool = False,
        colors: _Colors = ...,
        prediction_width: Optional[int] = None,
        prediction_height: Optional[int] = None,
    ) -> List[npt.NDArray[np.int64]]: ...
    def evaluate_segmentation(
        self,
        inp_images: Optional[Sequence[_Image]] = None,
        annotations: Optional[Sequence[Union[_Path, npt.NDArray[np.uint8]]]] = None,
        inp_images_dir: Optional[_Path] = None,
        annotations_dir: Optional[_Path] = None,
    ) -> Dict[str, Union[float, npt.NDArray[np.float64]]]: ...

def from_keras(
    path: _Path,
    threads: Optional[int] = None,
    precision: str = "f32",
    decoder_activation: Optional[str] = None,
    preprocessing: str = "sub_mean",
    class_names: Optional[Sequence[str]] = None,
    colors: Optional[_Colors] = None,
    alpha: Optional[float] = None,
    input_size: Optional[Tuple[int, int]] = None,
) -> Model: ...
def read_image(path: _Path) -> npt.NDArray[np.uint8]: ...
def write_image(path: _Path, image: npt.NDArray[np.uint8]) -> None: ...
