"""The second factor of city staff: app/second_factor.py bound to their recovery codes."""
from app.models.staff import RecoveryCode
from app.second_factor import (  # noqa: F401  (the console's views use them from here)
    SecondFactor,
    check_sign_in_code,
    confirm_enrolment,
    enrolment,
    pending_secret,
)

staff_second_factor = SecondFactor(RecoveryCode, RecoveryCode.staff_id)
confirm = staff_second_factor.confirm
recovery_codes_left = staff_second_factor.recovery_codes_left
