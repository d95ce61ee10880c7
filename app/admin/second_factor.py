"""The second factor of city staff: app/second_factor.py bound to their recovery codes."""
from app.models.staff import RecoveryCode
from app.second_factor import SecondFactor

staff_second_factor = SecondFactor(RecoveryCode, RecoveryCode.staff_id)
confirm = staff_second_factor.confirm
