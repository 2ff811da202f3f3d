"""hover.retarget: human motion (SMPL / AMASS, or the built-in synthetic set) to robot motion files.

Pipeline (``hover retarget``):

1. body model (:mod:`.body_model`): SMPL through ``smplx`` from plain-numpy ``SMPL_{GENDER}.npz`` files
   (official pickles are converted once by :mod:`.convert`), or the shipped synthetic SMPL-format model;
2. shape fit (:mod:`.shape_fit`): betas + global scale + per-chain scales + root offset so the human
   rest pose matches the robot's zero pose; saved as a small ``.npz`` reused for every clip;
3. input (:mod:`.amass`, :mod:`.synthetic`): AMASS ``.npz`` clips, resampled with slerp/lerp;
4. motion fit (:mod:`.motion_fit`): all frames of all clips in one damped Gauss-Newton solve with
   analytic Jacobians (joints, root rotation, root position), joint limits, feet orientation, pose and
   temporal priors; the root trajectory keeps source foot contacts (:mod:`.contacts`); grounding by
   the lowest collision-geometry point;
5. output (:mod:`.pipeline`, :mod:`.quality`): robot motion ``.npz`` files and a per-clip quality report
   (keypoint errors, joint-limit hits, lowest point, foot penetration, foot sliding, self-penetration).

BVH and joint-position input (``hover retarget bvh`` / ``positions``): :mod:`.bvh` (strict numpy
reader), :mod:`.human_skeletons` (conventions by joint names, JSON maps), :mod:`.bvh_input` /
:mod:`.positions` (units, up axis, orientations -> :mod:`.keypoints` clips), :mod:`.keypoint_fit`
(robot-sized targets from the skeleton's own dimensions, then the same solver as step 4);
:mod:`.bvh_writer` / :mod:`.bvh_export` write BVH files (the synthetic set in every convention of
:mod:`.bvh_styles`).

Also: :mod:`.preview` (human and robot side by side), :mod:`.filter` (feasibility filter with a
teacher). Frames: world z up, quaternions (w, x, y, z), metres, radians.
"""
