"""Frame sources behind one interface: an iterator of (timestamp s, frame).

Like gpiozero's pin factories, each backend lives in its own module and is picked at
run time from a spec string: "camera" (picamera2), "webcam:N", a video file, or a
keypoints `.npz` (which skips the model: its frames are (17, 3) keypoint arrays).
picamera2 is imported only inside its adapter, so everything else runs off the Pi.
"""
